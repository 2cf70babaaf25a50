package io.blockkit.ops;

import io.blockkit.api.error.BlockException;

/** A {@link Resize} that would shrink the image was refused; nothing changed. */
public class ResizeRefusedException extends BlockException {
  private static final long serialVersionUID = 1L;

  /** Why. */
  public enum Reason {
    /** Shrinking was not allowed ({@link Resize#allowShrink}). */
    SHRINK_NOT_ALLOWED,
    /** The range that would be cut off reads as data. */
    DATA_PAST_END
  }

  private final Reason reason;
  private final long dataOffset;

  public ResizeRefusedException(Reason reason, String message, long dataOffset) {
    super(message);
    this.reason = reason;
    this.dataOffset = dataOffset;
  }

  public Reason reason() {
    return reason;
  }

  /** The first non-zero byte past the new end ({@link Reason#DATA_PAST_END}), or -1. */
  public long dataOffset() {
    return dataOffset;
  }
}
