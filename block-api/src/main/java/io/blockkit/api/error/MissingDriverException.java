package io.blockkit.api.error;

/**
 * The image is in a format blockkit recognises but no installed driver reads. Opening it as raw
 * instead would hand out the container's bytes as disk content, so the open fails; naming the
 * format {@code raw} explicitly still opens those bytes.
 */
public class MissingDriverException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final String format;

  /**
   * @param location the image, as the user named it
   * @param format the recognised format's driver name ({@code qcow2}, {@code vpc}, ...)
   * @param description what the format is, for the message
   */
  public MissingDriverException(String location, String format, String description) {
    super("'" + location + "' is a " + format + " image (" + description + "); no " + format
        + " driver is installed (name the format raw to read the container's bytes as a disk)");
    this.format = format;
  }

  /** The recognised format's driver name. */
  public String format() {
    return format;
  }
}
