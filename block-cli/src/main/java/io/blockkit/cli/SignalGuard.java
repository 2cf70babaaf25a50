package io.blockkit.cli;

import io.blockkit.ops.Cancellation;
import java.io.InterruptedIOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What SIGINT, SIGTERM and SIGHUP mean to a command that writes images: the JVM runs its shutdown
 * hooks, and this one trips the command's {@link Cancellation}, lets the operation stop and clean
 * up for up to {@link #GRACE_SECONDS} seconds, and otherwise {@linkplain Cancellation#abandon()
 * abandons} it, which deletes new images that are not complete. The library installs no hooks
 * (package {@code io.blockkit.ops}); the tool arms this one before the operation creates anything.
 * A signal after the operation ended (a new image moved into place) changes nothing.
 */
final class SignalGuard implements AutoCloseable {
  static final long GRACE_SECONDS = 10;

  private final Cancellation token = new Cancellation();
  private final CountDownLatch done = new CountDownLatch(1);
  private final Thread hook = new Thread(this::onSignal, "blockkit-cleanup");

  private SignalGuard() {}

  /**
   * Arms the hook.
   *
   * @param what what the command is about to make or change, for the message when the process
   *     is already shutting down
   * @throws InterruptedIOException when the process is already shutting down
   */
  static SignalGuard arm(String what) throws InterruptedIOException {
    SignalGuard g = new SignalGuard();
    try {
      Runtime.getRuntime().addShutdownHook(g.hook);
    } catch (IllegalStateException shuttingDown) {
      throw new InterruptedIOException("Interrupted before " + what);
    }
    return g;
  }

  /** The token the command hands its operation. */
  Cancellation token() {
    return token;
  }

  /** The operation ended (it cleaned up after itself): disarms the hook. */
  @Override
  public void close() {
    done.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running (or has run) and is waiting for done
    }
  }

  private void onSignal() {
    token.cancel();
    try {
      if (!done.await(GRACE_SECONDS, TimeUnit.SECONDS)) {
        token.abandon();
      }
    } catch (InterruptedException e) {
      token.abandon();
    }
  }
}
