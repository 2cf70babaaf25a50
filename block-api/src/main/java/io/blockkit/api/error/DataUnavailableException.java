package io.blockkit.api.error;

/**
 * Data the image's metadata promises cannot be read: for example a block whose data lies past the
 * end of the file. The range is reported so a salvaging caller can substitute zeros and go on.
 */
public class DataUnavailableException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final long offset;
  private final long length;

  public DataUnavailableException(String message, long offset, long length) {
    super(message);
    this.offset = offset;
    this.length = length;
  }

  /** Virtual offset of the unreadable range. */
  public long offset() {
    return offset;
  }

  /** Length of the unreadable range in bytes. */
  public long length() {
    return length;
  }
}
