package io.blockkit.ops;

import io.blockkit.api.error.BlockException;

/** A {@link Compare} could not finish: block status or a read of one image failed. */
public class CompareException extends BlockException {
  private static final long serialVersionUID = 1L;

  /** What failed: qemu-img compare exits 3 for block status and 4 for reads. */
  public enum Step {
    BLOCK_STATUS,
    READ
  }

  private final Step step;
  private final String image;

  public CompareException(Step step, String image, long offset, Throwable cause) {
    super((step == Step.BLOCK_STATUS ? "Sector allocation test failed for " + image
        : "Error while reading offset " + offset + " of " + image) + ": "
        + (cause.getMessage() == null ? "I/O error" : cause.getMessage()),
        cause);
    this.step = step;
    this.image = image;
  }

  public Step step() {
    return step;
  }

  /** The image that failed, as named to the comparison. */
  public String image() {
    return image;
  }
}
