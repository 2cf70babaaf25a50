package io.blockkit.api.error;

/** An option string named an unknown key or gave a value of the wrong form. */
public class InvalidOptionException extends BlockException {
  private static final long serialVersionUID = 1L;

  public InvalidOptionException(String message) {
    super(message);
  }
}
