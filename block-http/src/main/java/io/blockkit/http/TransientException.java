package io.blockkit.http;

import io.blockkit.api.error.BlockException;

/**
 * A failure that may pass if the same request is made again: a 5xx answer, a throttled request, a
 * reset connection, a timeout. {@link Retries} tries again with back-off and, when the retries are
 * used up, reports the last one.
 */
public class TransientException extends BlockException {
  private static final long serialVersionUID = 1L;

  public TransientException(String message, Throwable cause) {
    super(message, cause);
  }
}
