package io.blockkit.api.error;

/**
 * A write to the first sector of a raw image whose format was guessed by probing was refused,
 * because afterwards the image would probe as another format (QEMU's CVE-2008-2004 guard). Naming
 * the format explicitly ({@code -f raw}) lifts the restriction.
 */
public class ProbedRawWriteException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final String location;
  private final String wouldBecome;

  public ProbedRawWriteException(String location, String wouldBecome) {
    super("Refusing to write to the first sector of '" + location + "': its format was guessed as "
        + "raw by probing, and the write would make it probe as '" + wouldBecome
        + "'; specify the 'raw' format explicitly to allow this write");
    this.location = location;
    this.wouldBecome = wouldBecome;
  }

  public String location() {
    return location;
  }

  /** The format the image would probe as after the write. */
  public String wouldBecome() {
    return wouldBecome;
  }
}
