package io.blockkit.verify.fuzz;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The contract every fuzz target asserts, in one place: for any input, blockkit either succeeds or
 * throws one of its documented {@link IOException}s, within a time limit and an allocation budget.
 *
 * <p>A target's body runs on a worker thread so that a hang becomes a failure with the worker's
 * stack (instead of a stuck build), and so that the bytes it allocates can be counted. The body
 * catches the exceptions it allows at each step itself (see {@link #attempt}); whatever escapes it
 * breaks the contract:
 * <ul>
 *   <li>an unchecked exception or an error (OutOfMemoryError included) is rethrown as is, so Jazzer
 *       reports and deduplicates it by its own stack;
 *   <li>an {@link IOException} escaping the body means an operation failed where the contract
 *       promises success (for example a check of a just-repaired image);
 *   <li>no result after {@link #TIMEOUT_MILLIS} is a hang; more than the budget's bytes allocated
 *       (twice, so that loading classes does not count) is an unbounded allocation.
 * </ul>
 */
final class FuzzContract {
  /** Per-input time limit; generous, since CI machines are shared. */
  static final long TIMEOUT_MILLIS = Long.getLong("blockkit.fuzz.timeoutMillis", 10_000);

  private static final AtomicReference<Thread> WORKER_THREAD = new AtomicReference<>();
  private static ExecutorService worker = newWorker();

  private FuzzContract() {}

  /** A fuzz target's body; see the class comment for what it may throw. */
  interface Body {
    void run() throws IOException;
  }

  /** An operation whose documented failure is an {@link IOException}. */
  interface Operation<T> {
    T call() throws IOException;
  }

  /** What an operation did: a value, or the documented exception it threw. */
  record Outcome<T>(T value, IOException failure) {
    boolean ok() {
      return failure == null;
    }

    /** The exception's class name, or "ok", for comparing two outcomes. */
    String kind() {
      return failure == null ? "ok" : failure.getClass().getName();
    }
  }

  /** Runs {@code op}; an IOException is a documented outcome, anything else escapes. */
  static <T> Outcome<T> attempt(Operation<T> op) {
    try {
      return new Outcome<>(op.call(), null);
    } catch (IOException e) {
      return new Outcome<>(null, e);
    }
  }

  /**
   * Runs {@code body} for one input under the contract.
   *
   * @param allocationBudget the most bytes the body may allocate on its thread
   */
  static void run(byte[] input, long allocationBudget, Body body) {
    run(input, allocationBudget, TIMEOUT_MILLIS, body);
  }

  /** {@link #run(byte[], long, Body)} with another time limit (for testing the harness itself). */
  static synchronized void run(byte[] input, long allocationBudget, long timeoutMillis,
      Body body) {
    long allocated = measure(input, timeoutMillis, body);
    if (allocated > allocationBudget) {
      // Classes loaded (and, when fuzzing, instrumented) for the first time count on the thread
      // that loads them; run the input again to count only what it costs itself.
      long again = measure(input, timeoutMillis, body);
      if (again > allocationBudget) {
        throw new AssertionError("Unbounded allocation: " + again + " bytes allocated for an "
            + "input of " + input.length + " bytes (budget " + allocationBudget + ")");
      }
    }
  }

  /** Runs the body once under the contract; returns the bytes it allocated. */
  private static long measure(byte[] input, long timeoutMillis, Body body) {
    Future<Long> result = worker.submit(() -> {
      long before = allocatedBytes();
      body.run();
      return allocatedBytes() - before;
    });
    try {
      return result.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      Thread stuck = WORKER_THREAD.get();
      AssertionError hang = new AssertionError("Hang: no result after " + timeoutMillis
          + " ms for an input of " + input.length + " bytes; the worker's stack is this error's");
      if (stuck != null) {
        hang.setStackTrace(stuck.getStackTrace());
      }
      // The stuck thread cannot be stopped; it is a daemon, and later inputs get a new worker.
      worker.shutdownNow();
      worker = newWorker();
      throw hang;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new AssertionError("An operation the contract promises to succeed failed: " + cause,
          cause);
    }
  }

  private static long allocatedBytes() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
        && t.isThreadAllocatedMemorySupported() && t.isThreadAllocatedMemoryEnabled()) {
      return t.getCurrentThreadAllocatedBytes();
    }
    return 0;
  }

  private static ExecutorService newWorker() {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fuzz-worker");
      t.setDaemon(true);
      WORKER_THREAD.set(t);
      return t;
    });
  }
}
