package io.blockkit.api.error;

/** The image's location cannot be used: missing, a directory, not permitted, or already present. */
public class ImageAccessException extends BlockException {
  private static final long serialVersionUID = 1L;

  /** Why the location cannot be used. */
  public enum Reason {
    NOT_FOUND("No such file or directory"),
    IS_DIRECTORY("Is a directory"),
    ACCESS_DENIED("Permission denied"),
    ALREADY_EXISTS("File exists"),
    NO_SPACE("No space left on device"),
    OTHER("I/O error");

    private final String text;

    Reason(String text) {
      this.text = text;
    }

    public String text() {
      return text;
    }
  }

  private final String location;
  private final Reason reason;

  public ImageAccessException(String location, Reason reason, Throwable cause) {
    super("Could not access '" + location + "': " + reason.text()
        + (reason == Reason.OTHER && cause != null && cause.getMessage() != null
            ? " (" + cause.getMessage() + ")" : ""), cause);
    this.location = location;
    this.reason = reason;
  }

  public String location() {
    return location;
  }

  public Reason reason() {
    return reason;
  }
}
