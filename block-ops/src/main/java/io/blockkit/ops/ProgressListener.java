package io.blockkit.ops;

/**
 * Receives the progress of a long operation as bytes done out of bytes to do, the way qemu's jobs
 * report it ({@code current-progress}, {@code total-progress}).
 *
 * <p>An operation calls its listener once with {@link Status#RUNNING} and {@code current} 0 before
 * any work, then with {@link Status#RUNNING} as work completes ({@code current} never decreases),
 * and last with {@link Status#CONCLUDED} ({@code current == total}) or {@link Status#ABORTED} (it
 * failed or was cancelled). Calls never overlap, so a listener needs no locking, but they come
 * from the operation's worker threads and hold it up while they run: print, do not block.
 */
@FunctionalInterface
public interface ProgressListener {
  /** Where the operation is, with the names qemu gives its job states. */
  enum Status {
    RUNNING,
    CONCLUDED,
    ABORTED
  }

  /** A listener that ignores every call. */
  ProgressListener NONE = (status, current, total) -> { };

  /**
   * @param current bytes done so far
   * @param total bytes the operation covers (the virtual size it walks)
   */
  void progress(Status status, long current, long total);
}
