package io.blockkit.ops;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A token a caller trips to stop operations it handed the token to. Thread-safe; one token may
 * serve several operations.
 *
 * <p>{@link #cancel()} asks: a running operation notices between requests, stops its workers,
 * removes what it created (a new image that is not complete yet) and fails with {@link
 * CancelledException}. The caller waits for that as for any failure.
 *
 * <p>{@link #abandon()} is for a caller that cannot wait: a JVM that is shutting down (blockkit's
 * tool calls it from its shutdown hook when the operation has not wound down within a grace
 * period). It cancels, then runs, on the calling thread, the clean-up the running operations
 * registered: new images that are not complete are deleted at once, even while a worker still
 * writes to them. The library installs no shutdown hooks of its own; that is the embedding
 * program's decision.
 */
public final class Cancellation {
  private final Set<Runnable> onAbandon = new LinkedHashSet<>();
  private volatile boolean cancelled;

  /** Asks every operation holding this token to stop. Idempotent. */
  public void cancel() {
    cancelled = true;
  }

  /** Whether {@link #cancel()} (or {@link #abandon()}) was called. */
  public boolean isCancelled() {
    return cancelled;
  }

  /**
   * Cancels, then runs the clean-up of every operation still registered, on this thread; see the
   * class comment. Idempotent.
   */
  public void abandon() {
    cancel();
    List<Runnable> actions;
    synchronized (onAbandon) {
      actions = new ArrayList<>(onAbandon);
      onAbandon.clear();
    }
    for (Runnable r : actions) {
      r.run();
    }
  }

  /** Fails with {@link CancelledException} saying {@code what} stopped, if cancelled. */
  void check(String what) throws CancelledException {
    if (cancelled) {
      throw new CancelledException(what);
    }
  }

  /** Registers a clean-up for {@link #abandon()} until the returned handle is closed. */
  Registration register(Runnable cleanUp) {
    synchronized (onAbandon) {
      onAbandon.add(cleanUp);
    }
    return () -> {
      synchronized (onAbandon) {
        onAbandon.remove(cleanUp);
      }
    };
  }

  /** Ends a registration; idempotent. */
  interface Registration extends AutoCloseable {
    @Override
    void close();
  }
}
