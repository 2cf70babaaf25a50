package io.blockkit.cli;

/**
 * A failure the tool reports as one line and an exit code, e.g. a bad argument or qemu-img's
 * command-specific codes (compare's 2 for "could not open").
 */
final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int exitCode;

  CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
