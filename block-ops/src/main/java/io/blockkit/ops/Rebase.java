package io.blockkit.ops;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.Extent;
import io.blockkit.api.IoBuffers;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Gives an image another backing file (or none): {@code qemu-img rebase}.
 *
 * <pre>{@code
 * try (BlockDevice top = registry.open("overlay.vdi", OpenParams.defaults())) {
 *   Rebase.of(top).backing("new-base.vdi", "vdi").run(registry);
 * }
 * }</pre>
 *
 * <p>Safe mode (the default) keeps what the image reads as: wherever the image leaves a range to
 * its backing and the old chain reads differently from the new backing, the old content is written
 * into the image first (runs of differing 512-byte sectors); only then is the new link stored.
 * With no new backing, everything the old chain supplies and is not zero is written in. {@link
 * #unsafe} only stores the new link (the user vouches that the new backing reads as the old did,
 * e.g. a moved or renamed file); the image may then be opened without its old backing ({@code
 * backing=null}), which need not exist.
 *
 * <p>Safety: the link changes last, after the data is flushed; a rebase stopped before it leaves
 * the old link and an image that still reads the same, and can be run again.
 */
public final class Rebase {
  static final int CHUNK = 2 << 20;
  private static final int SECTOR = 512;

  private final BlockDevice image;
  private String name;
  private String backing;
  private String backingFormat;
  private boolean unsafe;
  private ProgressListener progress = ProgressListener.NONE;
  private Cancellation cancel = new Cancellation();
  private Consumer<String> warnings = System.err::println;

  private Rebase(BlockDevice image) {
    this.image = Objects.requireNonNull(image, "image");
    this.name = image.location();
  }

  /** A rebase of {@code image}, opened read-write. */
  public static Rebase of(BlockDevice image) {
    return new Rebase(image);
  }

  /** The image's name, against which a relative backing name resolves (default its location). */
  public Rebase name(String name) {
    this.name = Objects.requireNonNull(name, "name");
    return this;
  }

  /**
   * The new backing: {@code name} stored as given (relative to the image's folder unless
   * absolute), {@code format} stored with it (null: probed); a null or empty name means none.
   */
  public Rebase backing(String name, String format) {
    this.backing = name == null || name.isEmpty() ? null : name;
    this.backingFormat = format;
    return this;
  }

  /** Only changes the link, copying nothing (qemu-img's {@code -u}). */
  public Rebase unsafe(boolean on) {
    this.unsafe = on;
    return this;
  }

  public Rebase progress(ProgressListener listener) {
    this.progress = Objects.requireNonNull(listener, "listener");
    return this;
  }

  public Rebase cancellation(Cancellation token) {
    this.cancel = Objects.requireNonNull(token, "token");
    return this;
  }

  /** Where warnings about opening the new backing go; default standard error. */
  public Rebase warnings(Consumer<String> sink) {
    this.warnings = Objects.requireNonNull(sink, "sink");
    return this;
  }

  /**
   * Rebases. Afterwards the device reads through the new backing (in unsafe mode: when it could
   * be opened; otherwise reopen the image once it exists).
   *
   * @throws UnsupportedFeatureException when the format has no backing files
   * @throws io.blockkit.api.error.BlockException when (in safe mode) the new backing cannot be
   *     opened
   * @throws CancelledException when the token was tripped before the link changed
   */
  public void run(BlockRegistry registry) throws IOException {
    if (!image.driver().features().contains(DriverFeature.BACKING)) {
      throw new UnsupportedFeatureException("Format '" + image.driver().name()
          + "' does not support backing files");
    }
    BackingLink link = backing == null ? null
        : BackingNames.link(registry, name, backing, backingFormat);
    OpenParams params = OpenParams.defaults().withWarnings(warnings);
    BlockDevice next = null;
    try {
      if (backing != null) {
        try {
          next = BackingNames.open(registry, name, backing, backingFormat, params);
        } catch (IOException e) {
          if (!unsafe) {
            throw e;
          }
        }
      }
      if (!unsafe) {
        copyDifferences(next);
      }
      cancel.check("rebase was interrupted; the backing file was not changed");
      image.changeBacking(link, next);
      next = null; // the image owns it now
      image.flush();
    } finally {
      if (next != null) {
        next.close();
      }
    }
  }

  /** Writes the old content into the image wherever it leaves a range to a backing that changes. */
  private void copyDifferences(BlockDevice next) throws IOException {
    long size = image.size();
    Tracker t = new Tracker(progress, size);
    t.start();
    boolean ok = false;
    try {
      ByteBuffer old = IoBuffers.direct(CHUNK);
      ByteBuffer now = IoBuffers.direct(CHUNK);
      long nextSize = next == null ? 0 : next.size();
      long pos = 0;
      while (pos < size) {
        cancel.check("rebase was interrupted; the backing file was not changed");
        Extent e = image.blockStatus(pos, Math.min(CHUNK - pos % CHUNK, size - pos));
        int len = (int) e.length();
        if (!e.allocated()) {
          old.clear().limit(len);
          image.read(pos, old);
          old.flip();
          now.clear().limit(len);
          int have = (int) Math.max(0, Math.min(len, nextSize - pos));
          if (have > 0) {
            next.read(pos, now.slice(0, have));
          }
          ZeroScan.zero(now, have, len - have);
          writeDifferences(pos, old, now, len);
        }
        pos += len;
        t.add(len);
      }
      image.flush();
      ok = true;
    } finally {
      t.finish(ok);
    }
  }

  /** Writes the runs of 512-byte sectors where {@code old} and {@code now} differ. */
  private void writeDifferences(long pos, ByteBuffer old, ByteBuffer now, int len)
      throws IOException {
    int runStart = -1;
    for (int at = 0; at <= len; at += SECTOR) {
      int n = Math.min(SECTOR, len - at);
      boolean differs = n > 0 && old.slice(at, n).mismatch(now.slice(at, n)) >= 0;
      if (differs && runStart < 0) {
        runStart = at;
      } else if (!differs && runStart >= 0) {
        image.write(pos + runStart, old.slice(runStart, at - runStart));
        runStart = -1;
      }
    }
    if (runStart >= 0) {
      image.write(pos + runStart, old.slice(runStart, len - runStart));
    }
  }
}
