package io.blockkit.api;

/**
 * What {@link BlockDriver#measure} reports, with {@code qemu-img measure}'s meanings.
 *
 * @param required bytes a new image needs to hold the data (and metadata) measured
 * @param fullyAllocated bytes it would need with every cluster allocated
 */
public record Measurement(long required, long fullyAllocated) {}
