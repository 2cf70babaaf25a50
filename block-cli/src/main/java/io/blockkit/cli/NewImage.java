package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An image a command creates ({@code create}, {@code convert}) so that no interruption leaves a
 * half-made image under the user's name.
 *
 * <p>Where the protocol offers staging ({@link BlockDriver#stagingLocation}, a plain file), the
 * image is created and written under a hidden name beside the target and moved into place by
 * {@link #commit} when complete and flushed: a crash, even {@code kill -9}, leaves no target (or
 * the previous one, untouched) and at worst the hidden file, which is safe to delete. An existing
 * target is opened for writing first, as qemu-img does when it truncates it, so that a locked or
 * read-only target fails the command before any work, and stays locked until it is replaced.
 * Elsewhere the image is created in place, and deleted again unless it existed before.
 *
 * <p>The clean-up is armed (a shutdown hook, which the JVM runs on SIGINT, SIGTERM and SIGHUP)
 * before anything is created. On a signal the hook marks the image {@link #interrupted}, lets the
 * command's own clean-up run for up to {@link #GRACE_SECONDS} seconds, then deletes what this run
 * made itself. A signal after the move into place leaves the complete image.
 */
final class NewImage implements AutoCloseable {
  static final long GRACE_SECONDS = 10;

  /** Why a delete of the image may fail when its creation failed before making anything. */
  private static final java.util.Set<Reason> NOTHING_MADE = java.util.EnumSet.of(
      Reason.NOT_FOUND, Reason.NOT_A_DIRECTORY, Reason.IS_DIRECTORY,
      Reason.READ_ONLY_FILE_SYSTEM);

  private final Env env;
  private final String name;
  private final BlockDriver protocol;
  private final String path;
  private final Thread hook = new Thread(this::onSignal, "blockkit-cleanup");
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile boolean interrupted;
  private String staged;
  private String location;
  private BlockDevice previous;
  private boolean existed;
  private boolean made;
  private boolean committed;

  private NewImage(Env env, String name, BlockRegistry.Location loc) {
    this.env = env;
    this.name = name;
    this.protocol = loc.protocol();
    this.path = loc.path();
    this.location = name;
  }

  /**
   * Arms the clean-up, then creates the image (replacing an existing one on commit, as qemu-img
   * does).
   *
   * @param options the format's create options
   * @throws InterruptedIOException when the process is already shutting down
   */
  static NewImage create(Env env, String name, String format, Map<String, String> options)
      throws IOException {
    BlockRegistry reg = env.registry();
    NewImage image = new NewImage(env, name, reg.parseLocation(name));
    try {
      Runtime.getRuntime().addShutdownHook(image.hook);
    } catch (IllegalStateException shuttingDown) {
      throw new InterruptedIOException("Interrupted before '" + name + "' was created");
    }
    boolean ok = false;
    try {
      image.make(reg, format, options);
      ok = true;
      return image;
    } catch (IOException e) {
      throw image.named(e);
    } finally {
      if (!ok) {
        image.close();
      }
    }
  }

  private void make(BlockRegistry reg, String format, Map<String, String> options)
      throws IOException {
    Optional<String> stage = protocol.stagingLocation(path);
    if (stage.isPresent()) {
      previous = openExisting(reg);
      staged = stage.get();
      location = name.equals(path) ? staged : protocol.name() + ":" + staged;
    } else {
      existed = exists(reg);
    }
    synchronized (this) {
      made = true; // from here a partly created image is deleted on failure
    }
    try {
      reg.create(location, format, options);
    } catch (ImageAccessException e) {
      if (staged != null || e.reason() != Reason.ALREADY_EXISTS) {
        throw e;
      }
      protocol.delete(path); // a protocol that refuses to overwrite: qemu-img replaces the target
      reg.create(location, format, options);
    }
    checkInterrupted();
  }

  /**
   * The target as it is now, opened for writing through the protocol alone (so a locked or
   * read-only target fails here), or null when there is none.
   */
  private BlockDevice openExisting(BlockRegistry reg) throws IOException {
    try {
      return reg.open(name, env.params(protocol.name(), false, false));
    } catch (ImageAccessException e) {
      if (e.reason() == Reason.NOT_FOUND) {
        return null;
      }
      throw e;
    }
  }

  /**
   * Whether something is at the name already. Only a missing name counts as absent: a name that
   * cannot be opened as an image (a FIFO, a device, "file/") is still not this run's to delete.
   */
  private boolean exists(BlockRegistry reg) {
    try (BlockDevice d = reg.open(name, env.params(protocol.name(), true, true))) {
      return true;
    } catch (ImageAccessException e) {
      return e.reason() != Reason.NOT_FOUND;
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  /** Where to open the image for writing until {@link #commit}. */
  String location() {
    return location;
  }

  /** Whether a signal asked the command to stop. */
  boolean interrupted() {
    return interrupted;
  }

  private void checkInterrupted() throws InterruptedIOException {
    if (interrupted) {
      throw new InterruptedIOException("Interrupted; '" + name + "' was not created");
    }
  }

  /**
   * Puts the complete image, closed and flushed by the caller, under its name; until this
   * returns, the command's failure or a signal removes it.
   */
  synchronized void commit() throws IOException {
    checkInterrupted();
    if (staged != null) {
      try {
        protocol.commit(staged, path, previous != null);
      } catch (IOException e) {
        throw named(e);
      }
    }
    committed = true;
  }

  /** Removes the image unless committed, and disarms the clean-up. */
  @Override
  public void close() {
    try {
      discard();
      closeQuietly(previous);
    } finally {
      done.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running (or has run) and is waiting for done
      }
    }
  }

  private synchronized void discard() {
    if (!made || committed || staged == null && existed) {
      return;
    }
    made = false;
    BlockRegistry.Location loc = new BlockRegistry.Location(protocol, staged != null ? staged : path);
    try {
      loc.protocol().delete(loc.path());
    } catch (ImageAccessException e) {
      if (!NOTHING_MADE.contains(e.reason())) {
        warnNotRemoved(e);
      }
    } catch (IOException | RuntimeException e) {
      warnNotRemoved(e);
    }
  }

  private void warnNotRemoved(Exception e) {
    env.warn("blockkit: warning: could not remove the incomplete image '" + location + "': "
        + Errors.oneLine(e));
  }

  /** The shutdown hook: stop the command, give it time to clean up, else clean up here. */
  private void onSignal() {
    interrupted = true;
    try {
      if (!done.await(GRACE_SECONDS, TimeUnit.SECONDS)) {
        discard();
      }
    } catch (InterruptedException e) {
      discard();
    }
  }

  /**
   * {@code e} naming the user's target instead of the staged file, for errors about the
   * location itself (no space, permission denied).
   */
  IOException named(IOException e) {
    if (staged != null && e instanceof ImageAccessException a
        && (a.location().equals(staged) || a.location().equals(location))) {
      return new ImageAccessException(name, a.reason(), a.getCause());
    }
    return e;
  }

  private static void closeQuietly(BlockDevice d) {
    if (d == null) {
      return;
    }
    try {
      d.close();
    } catch (IOException | RuntimeException ignored) {
      // only a lock and a descriptor on the replaced (or kept) file
    }
  }
}
