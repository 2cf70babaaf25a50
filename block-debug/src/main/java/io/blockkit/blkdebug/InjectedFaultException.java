package io.blockkit.blkdebug;

import io.blockkit.api.error.BlockException;

/** A failure that {@code blkdebug} injected on purpose; the message names the rule that fired. */
public class InjectedFaultException extends BlockException {
  private static final long serialVersionUID = 1L;

  public InjectedFaultException(String message) {
    super(message);
  }
}
