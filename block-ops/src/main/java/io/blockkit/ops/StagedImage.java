package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * An image an operation creates ({@link Create}, {@link Convert}) so that no interruption leaves
 * a half-made image under the user's name.
 *
 * <p>Where the protocol offers staging ({@link BlockDriver#stagingLocation}, a plain file), the
 * image is created and written under a hidden name beside the target and moved into place by
 * {@link #commit} when complete and flushed: a crash, even {@code kill -9}, leaves no target (or
 * the previous one, untouched) and at worst the hidden file, which is safe to delete. An existing
 * target is opened for writing first, as qemu-img does when it truncates it, so that a locked or
 * read-only target fails the operation before any work, and stays locked until it is replaced.
 * Elsewhere the image is created in place, and deleted again unless it existed before.
 *
 * <p>The clean-up is registered with the operation's {@link Cancellation} before anything is
 * created, so that {@link Cancellation#abandon()} removes what this run made itself, from any
 * thread, until the image is committed.
 */
final class StagedImage implements AutoCloseable {
  /** Why a delete of the image may fail when its creation failed before making anything. */
  private static final Set<Reason> NOTHING_MADE = EnumSet.of(Reason.NOT_FOUND,
      Reason.NOT_A_DIRECTORY, Reason.IS_DIRECTORY, Reason.READ_ONLY_FILE_SYSTEM);

  private final String name;
  private final BlockDriver protocol;
  private final String path;
  private final OpenParams params;
  private final Cancellation cancel;
  private final Consumer<String> warnings;
  private final Cancellation.Registration registration;
  private String staged;
  private String location;
  private BlockDevice previous;
  /** Files the format made beside the image (a VMDK's extents): deleted with it. */
  private List<BlockRegistry.Location> companions = List.of();
  private boolean existed;
  private boolean made;
  private boolean committed;

  private StagedImage(String name, BlockRegistry.Location loc, OpenParams params,
      Cancellation cancel) {
    this.name = name;
    this.protocol = loc.protocol();
    this.path = loc.path();
    this.location = name;
    this.params = params;
    this.cancel = cancel;
    this.warnings = params.warnings();
    this.registration = cancel.register(this::discard);
  }

  /**
   * Registers the clean-up, then creates the image (replacing an existing one on commit, as
   * qemu-img does).
   *
   * @param options the format's create options
   * @param params how to open the backing image named in the options, and where warnings go
   * @throws CancelledException when {@code cancel} is already tripped
   */
  static StagedImage create(BlockRegistry reg, String name, String format,
      Map<String, String> options, OpenParams params, Cancellation cancel) throws IOException {
    cancel.check("Interrupted before '" + name + "' was created");
    StagedImage image = new StagedImage(name, reg.parseLocation(name), params, cancel);
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
    List<BlockRegistry.Location> made;
    try {
      made = reg.create(location, format, options, params);
    } catch (ImageAccessException e) {
      if (staged != null || e.reason() != Reason.ALREADY_EXISTS) {
        throw e;
      }
      protocol.delete(path); // a protocol that refuses to overwrite: qemu-img replaces the target
      made = reg.create(location, format, options, params);
    }
    synchronized (this) {
      companions = made;
    }
    checkCancelled();
  }

  /**
   * The target as it is now, opened for writing through the protocol alone (so a locked or
   * read-only target fails here), or null when there is none.
   */
  private BlockDevice openExisting(BlockRegistry reg) throws IOException {
    try {
      return reg.open(name, protocolParams(false));
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
    try (BlockDevice d = reg.open(name, protocolParams(true))) {
      return true;
    } catch (ImageAccessException e) {
      return e.reason() != Reason.NOT_FOUND;
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  private OpenParams protocolParams(boolean readOnly) {
    return new OpenParams(protocol.name(), Map.of(), readOnly, readOnly, params.warnings(),
        false);
  }

  /** Where to open the image for writing until {@link #commit}. */
  String location() {
    return location;
  }

  private void checkCancelled() throws CancelledException {
    cancel.check("Interrupted; '" + name + "' was not created");
  }

  /**
   * Puts the complete image, closed and flushed by the caller, under its name; until this
   * returns, a failure or {@link Cancellation#abandon()} removes it.
   */
  synchronized void commit() throws IOException {
    checkCancelled();
    if (staged != null) {
      try {
        protocol.commit(staged, path, previous != null);
      } catch (IOException e) {
        throw named(e);
      }
    }
    committed = true;
  }

  /** Removes the image unless committed, and ends the clean-up's registration. */
  @Override
  public void close() {
    try {
      discard();
      closeQuietly(previous);
    } finally {
      registration.close();
    }
  }

  private synchronized void discard() {
    if (!made || committed || staged == null && existed) {
      return;
    }
    made = false;
    delete(protocol, staged != null ? staged : path, location);
    for (BlockRegistry.Location c : companions) {
      delete(c.protocol(), c.path(), c.path());
    }
  }

  private void delete(BlockDriver proto, String where, String shown) {
    try {
      proto.delete(where);
    } catch (ImageAccessException e) {
      if (!NOTHING_MADE.contains(e.reason())) {
        warnNotRemoved(shown, e);
      }
    } catch (IOException | RuntimeException e) {
      warnNotRemoved(shown, e);
    }
  }

  private void warnNotRemoved(String shown, Exception e) {
    warnings.accept("warning: could not remove the incomplete image '" + shown + "': "
        + e.getMessage());
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
