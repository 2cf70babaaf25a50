package io.blockkit.ops;

import io.blockkit.ops.ProgressListener.Status;

/** Adds up completed bytes from worker threads and hands a listener one call at a time. */
final class Tracker {
  private final ProgressListener listener;
  private final long total;
  private long done;
  private boolean finished;

  Tracker(ProgressListener listener, long total) {
    this.listener = listener;
    this.total = total;
  }

  synchronized void start() {
    listener.progress(Status.RUNNING, 0, total);
  }

  /** {@code bytes} more are done. */
  synchronized void add(long bytes) {
    if (bytes > 0 && !finished) {
      done = Math.min(total, done + bytes);
      listener.progress(Status.RUNNING, done, total);
    }
  }

  /** The last call: concluded (everything done) or aborted. */
  synchronized void finish(boolean ok) {
    if (finished) {
      return;
    }
    finished = true;
    if (ok) {
      done = total;
    }
    listener.progress(ok ? Status.CONCLUDED : Status.ABORTED, done, total);
  }
}
