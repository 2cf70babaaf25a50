package io.blockkit.api.error;

/** A modifying operation was attempted on an image opened read-only. */
public class ReadOnlyException extends BlockException {
  private static final long serialVersionUID = 1L;

  public ReadOnlyException(String location) {
    super("Image '" + location + "' is opened read-only");
  }
}
