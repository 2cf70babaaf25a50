package io.blockkit.api.error;

import java.io.IOException;

/**
 * Root of every error blockkit reports about images, drivers and options. Messages are complete
 * sentences meant for the user: they name the file, the structure or option, the value found and
 * what was expected.
 */
public class BlockException extends IOException {
  private static final long serialVersionUID = 1L;

  public BlockException(String message) {
    super(message);
  }

  public BlockException(String message, Throwable cause) {
    super(message, cause);
  }
}
