package io.blockkit.api.error;

/** Another process holds the image's lock; read-only inspection may bypass it with force-share (-U). */
public class ImageLockedException extends BlockException {
  private static final long serialVersionUID = 1L;

  public ImageLockedException(String location) {
    super("Image '" + location + "' is locked by another process (is it in use?); "
        + "open it read-only with force-share (-U) to inspect it anyway");
  }
}
