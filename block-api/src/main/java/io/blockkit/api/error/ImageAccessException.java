package io.blockkit.api.error;

/**
 * The image's location cannot be used: missing, a directory or not a file, not permitted, on a
 * read-only file system, or already present.
 */
public class ImageAccessException extends BlockException {
  private static final long serialVersionUID = 1L;

  /** Why the location cannot be used. */
  public enum Reason {
    NOT_FOUND("No such file or directory"),
    IS_DIRECTORY("Is a directory"),
    /** A path element before the last is not a directory (also "file/", with a slash). */
    NOT_A_DIRECTORY("Not a directory"),
    /** A FIFO, socket or character device: no image can live there. */
    NOT_A_FILE("Not a regular file or block device"),
    ACCESS_DENIED("Permission denied"),
    READ_ONLY_FILE_SYSTEM("Read-only file system"),
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
    this(location, reason,
        reason == Reason.OTHER && cause != null ? cause.getMessage() : null, cause);
  }

  /** With {@code detail} (if not null) after the reason, in parentheses. */
  public ImageAccessException(String location, Reason reason, String detail, Throwable cause) {
    super("Could not access '" + location + "': " + reason.text()
        + (detail != null ? " (" + detail + ")" : ""), cause);
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
