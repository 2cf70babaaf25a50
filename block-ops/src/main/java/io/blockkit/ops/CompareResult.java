package io.blockkit.ops;

/**
 * What a {@link Compare} found.
 *
 * @param outcome identical, or the first difference
 * @param offset where the first difference starts (its 512-byte sector for content, the run for
 *     block status), or -1
 * @param sizesDiffer the images have different sizes (compared anyway unless strict; qemu-img
 *     warns about it)
 */
public record CompareResult(Outcome outcome, long offset, boolean sizesDiffer) {
  /** The verdict. */
  public enum Outcome {
    IDENTICAL,
    /** The images read differently at {@link #offset}. */
    CONTENT_MISMATCH,
    /** Strict mode: the sizes differ. */
    SIZE_MISMATCH,
    /** Strict mode: the block status differs at {@link #offset}. */
    STATUS_MISMATCH
  }

  public boolean identical() {
    return outcome == Outcome.IDENTICAL;
  }
}
