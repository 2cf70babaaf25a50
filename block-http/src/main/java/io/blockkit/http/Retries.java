package io.blockkit.http;

import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Calls again what failed with a {@link TransientException}, waiting longer each time: 100 ms,
 * 200 ms, 400 ms ... (at most 5 s), each wait drawn between half and all of that so that parallel
 * requests do not retry in step. Other failures pass through at once.
 */
public final class Retries {
  private static final long FIRST_WAIT_MILLIS = 100;
  private static final long LONGEST_WAIT_MILLIS = 5000;

  /** A call that may be made again. */
  @FunctionalInterface
  public interface Call<T> {
    T call() throws IOException;
  }

  private final int retries;

  /** @param retries how many times a failed call is made again (0: never) */
  public Retries(int retries) {
    if (retries < 0) {
      throw new IllegalArgumentException("negative retries " + retries);
    }
    this.retries = retries;
  }

  /**
   * The result of {@code call}, made up to {@code retries + 1} times.
   *
   * @throws BlockException the last transient failure, its message saying how often it was tried
   * @throws IOException any other failure of the call, at once
   */
  public <T> T run(Call<T> call) throws IOException {
    for (int attempt = 0; ; attempt++) {
      try {
        return call.call();
      } catch (TransientException e) {
        if (attempt >= retries) {
          throw retries == 0 ? e : new BlockException(e.getMessage() + " (gave up after "
              + retries + (retries == 1 ? " retry)" : " retries)"), e);
        }
        sleep(wait(attempt));
      }
    }
  }

  /** The wait before retry {@code attempt + 1}, in milliseconds. */
  static long wait(int attempt) {
    long full = FIRST_WAIT_MILLIS << Math.min(attempt, 16);
    full = Math.min(full, LONGEST_WAIT_MILLIS);
    return full / 2 + ThreadLocalRandom.current().nextLong(full / 2 + 1);
  }

  private static void sleep(long millis) throws InterruptedIOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Interrupted while waiting to retry");
    }
  }
}
