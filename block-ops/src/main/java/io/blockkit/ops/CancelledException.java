package io.blockkit.ops;

import io.blockkit.api.error.BlockException;

/**
 * An operation stopped because its {@link Cancellation} was tripped. What it created is gone;
 * what it changed in place is consistent (a commit or rebase can be run again).
 */
public class CancelledException extends BlockException {
  private static final long serialVersionUID = 1L;

  /** @param message what stopped, e.g. "convert was interrupted" */
  public CancelledException(String message) {
    super(message);
  }
}
