package io.blockkit.ops;

/**
 * What a {@link Commit} did.
 *
 * @param base the image the data went into
 * @param depth its depth below the top (1: the top's backing)
 * @param emptied whether the top was emptied afterwards
 */
public record CommitResult(String base, int depth, boolean emptied) {}
