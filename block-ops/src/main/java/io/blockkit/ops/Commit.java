package io.blockkit.ops;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.Extent;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ReadOnlyException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * Writes what an image's upper layers hold into a backing image below them: {@code qemu-img
 * commit}.
 *
 * <pre>{@code
 * OpenParams rw = OpenParams.defaults().withWritableBacking(true);
 * try (BlockDevice top = registry.open("overlay.vdi", rw)) {
 *   Commit.of(top).run(registry);             // into the overlay's backing, then empty it
 * }
 * }</pre>
 *
 * <p>Every range some layer above the base allocates (found with block status, layer by layer)
 * is read through the top image and written into the base, which grows to the top's size when it
 * is smaller. Then, when the base is the top's own backing and the top is not kept, the top is
 * emptied, as qemu-img does: its formats's {@link BlockDevice#compact()} releases every block,
 * since each now reads as the backing does (a format that cannot compact keeps its blocks, which
 * is harmless, as qemu-img ignores a format that cannot be emptied). The chain's links are not
 * changed. With a base deeper than the top's backing the top is always kept (qemu-img: {@code -b}
 * implies {@code -d}): the layers in between now read differently, and emptying the top would
 * expose that.
 *
 * <p>Safety: the base is flushed before the top is emptied, so a crash at any moment leaves the
 * data in the top, in the base, or both; a commit stopped part-way can simply be run again.
 */
public final class Commit {
  private final BlockDevice top;
  private String base;
  private String name;
  private boolean keepTop;
  private int inFlight = Convert.defaultInFlight();
  private ProgressListener progress = ProgressListener.NONE;
  private Cancellation cancel = new Cancellation();

  private Commit(BlockDevice top) {
    this.top = Objects.requireNonNull(top, "top");
    this.name = top.location();
  }

  /**
   * A commit of {@code top}, opened read-write with a writable backing chain ({@link
   * io.blockkit.registry.OpenParams#withWritableBacking}).
   */
  public static Commit of(BlockDevice top) {
    return new Commit(top);
  }

  /**
   * The image to commit into, as its name is stored in the layer above it, where that points, or
   * another spelling of the same file. Default: the top's backing.
   */
  public Commit base(String base) {
    this.base = base;
    return this;
  }

  /** The top's name in messages (default its location). */
  public Commit name(String name) {
    this.name = Objects.requireNonNull(name, "name");
    return this;
  }

  /** Keeps the top's data instead of emptying it (qemu-img's {@code -d}). */
  public Commit keepTop(boolean keep) {
    this.keepTop = keep;
    return this;
  }

  /** Requests in flight, 1 to {@link Convert#MAX_IN_FLIGHT}. */
  public Commit inFlight(int n) {
    if (n < 1 || n > Convert.MAX_IN_FLIGHT) {
      throw new IllegalArgumentException("requests in flight: " + n);
    }
    this.inFlight = n;
    return this;
  }

  public Commit progress(ProgressListener listener) {
    this.progress = Objects.requireNonNull(listener, "listener");
    return this;
  }

  public Commit cancellation(Cancellation token) {
    this.cancel = Objects.requireNonNull(token, "token");
    return this;
  }

  /**
   * Commits.
   *
   * @param registry resolves the base's name (protocols give canonical names)
   * @throws BlockException when the top has no backing, or {@code base} is not in its chain
   * @throws ReadOnlyException when the base (or, to be emptied, the top) was opened read-only
   * @throws UnsupportedFeatureException when the base must grow and cannot
   * @throws CancelledException when the token was tripped; run it again to finish
   */
  public CommitResult run(BlockRegistry registry) throws IOException {
    List<BlockDevice> layers = BackingChain.layers(top);
    if (base == null && layers.size() < 2) {
      throw new BlockException("Image does not have a backing file");
    }
    int depth = base == null ? 1 : BackingNames.depthOf(registry, top, name, base);
    BlockDevice target = layers.get(depth);
    if (target.isReadOnly()) {
      throw new ReadOnlyException(target.location());
    }
    boolean empty = !keepTop && depth == 1;
    if (empty && top.isReadOnly()) {
      throw new ReadOnlyException(top.location());
    }
    long size = top.size();
    if (target.size() < size) {
      if (!target.capabilities().contains(Capability.RESIZE)) {
        throw new UnsupportedFeatureException("'" + target.location() + "' (" + target.size()
            + " bytes) is smaller than '" + name + "' (" + size + " bytes) and cannot grow");
      }
      target.truncate(size);
    }
    Tracker t = new Tracker(progress, size);
    Copier c = new Copier(top, target, size, (pos, max) -> {
      BackingChain.Status s = BackingChain.status(top, pos, max);
      Extent e = s.extent();
      Copier.Kind kind = s.depth() >= depth ? Copier.Kind.SKIP
          : e.zero() || !e.data() ? Copier.Kind.ZERO : Copier.Kind.COPY;
      return new Copier.Run(pos, e.length(), kind);
    }, 0, false, false, inFlight, true, false, t, cancel, "commit");
    t.start();
    boolean ok = false;
    try {
      c.run(); // flushes the base: only then may the top let go of its copy
      ok = true;
    } finally {
      t.finish(ok);
    }
    boolean emptied = false;
    if (empty && top.driver().features().contains(DriverFeature.COMPACT)) {
      cancel.check("commit was interrupted after the data reached '" + target.location() + "'");
      top.compact();
      top.flush();
      emptied = true;
    }
    return new CommitResult(target.location(), depth, emptied);
  }
}
