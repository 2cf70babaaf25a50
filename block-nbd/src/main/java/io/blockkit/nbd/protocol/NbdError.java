package io.blockkit.nbd.protocol;

/**
 * The error numbers a transmission reply carries (the protocol fixes their values, which are
 * Linux's errno values). A client treats an unknown value like {@link #EINVAL}.
 */
public enum NbdError {
  EPERM(1, "Operation not permitted"),
  EIO(5, "Input/output error"),
  ENOMEM(12, "Cannot allocate memory"),
  EINVAL(22, "Invalid argument"),
  ENOSPC(28, "No space left on device"),
  EOVERFLOW(75, "Value too large for defined data type"),
  ENOTSUP(95, "Operation not supported"),
  ESHUTDOWN(108, "Cannot send after transport endpoint shutdown");

  private final int code;
  private final String text;

  NbdError(int code, String text) {
    this.code = code;
    this.text = text;
  }

  /** The value on the wire. */
  public int code() {
    return code;
  }

  /** strerror's text, for messages. */
  public String text() {
    return text;
  }

  /** The error with this value; unknown values are {@link #EINVAL}, as the protocol says. */
  public static NbdError of(int code) {
    for (NbdError e : values()) {
      if (e.code == code) {
        return e;
      }
    }
    return EINVAL;
  }
}
