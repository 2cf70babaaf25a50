package io.blockkit.api.error;

/** A request reaches outside the image's virtual size. */
public class OutOfRangeException extends BlockException {
  private static final long serialVersionUID = 1L;

  public OutOfRangeException(String location, long offset, long length, long size) {
    super("Request at offset " + offset + " of " + length + " bytes is outside image '" + location
        + "' of " + size + " bytes");
  }
}
