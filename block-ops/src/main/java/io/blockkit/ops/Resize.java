package io.blockkit.ops;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.api.IoBuffers;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Changes an image's virtual size: {@code qemu-img resize}.
 *
 * <pre>{@code
 * Resize.of(image).to(image.size() + (1L << 30)).run();   // grow by 1 GiB
 * }</pre>
 *
 * <p>Growing adds a range that reads as zeros. Shrinking must be allowed ({@link #allowShrink})
 * and is refused, unlike qemu-img, when the range cut off reads as anything but zeros: blockkit
 * never throws away data that can be read ({@link ResizeRefusedException}). Zero or discard the
 * range first to shrink over it.
 */
public final class Resize {
  static final int CHUNK = 2 << 20;

  private final BlockDevice image;
  private long size = -1;
  private boolean allowShrink;
  private Cancellation cancel = new Cancellation();

  private Resize(BlockDevice image) {
    this.image = Objects.requireNonNull(image, "image");
  }

  /** A resize of {@code image}, opened read-write. */
  public static Resize of(BlockDevice image) {
    return new Resize(image);
  }

  /** The new virtual size in bytes. */
  public Resize to(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("negative size " + bytes);
    }
    this.size = bytes;
    return this;
  }

  /** Allows a smaller size (qemu-img's {@code --shrink}); the cut-off range must read zeros. */
  public Resize allowShrink(boolean on) {
    this.allowShrink = on;
    return this;
  }

  /** Stops the scan of a range to be cut off. */
  public Resize cancellation(Cancellation token) {
    this.cancel = Objects.requireNonNull(token, "token");
    return this;
  }

  /**
   * Resizes and flushes.
   *
   * @return the size before
   * @throws UnsupportedFeatureException when the image cannot be resized
   * @throws ResizeRefusedException when shrinking is not allowed, or would cut off data
   */
  public long run() throws IOException {
    if (size < 0) {
      throw new IllegalStateException("no size: call to()");
    }
    if (!image.capabilities().contains(Capability.RESIZE)) {
      throw new UnsupportedFeatureException("Format '" + image.driver().name()
          + "' does not support resizing");
    }
    long old = image.size();
    if (size < old) {
      if (!allowShrink) {
        throw new ResizeRefusedException(ResizeRefusedException.Reason.SHRINK_NOT_ALLOWED,
            "Shrinking '" + image.location() + "' from " + old + " to " + size
                + " bytes was not allowed", -1);
      }
      long data = firstData(size, old);
      if (data >= 0) {
        throw new ResizeRefusedException(ResizeRefusedException.Reason.DATA_PAST_END,
            "Shrinking '" + image.location() + "' to " + size + " bytes would cut off data: "
                + "offset " + data + " reads as non-zero (blockkit does not discard data that "
                + "can be read; zero or discard " + size + ".." + old + " first)", data);
      }
    }
    if (size != old) {
      image.truncate(size);
    }
    image.flush();
    return old;
  }

  /** The first offset in {@code [from, to)} that reads as non-zero through the chain, or -1. */
  private long firstData(long from, long to) throws IOException {
    ByteBuffer buf = null;
    long pos = from;
    while (pos < to) {
      cancel.check("resize was interrupted");
      Extent e = BackingChain.status(image, pos, Math.min(to - pos, CHUNK)).extent();
      int len = (int) e.length();
      if (!e.zero()) {
        if (buf == null) {
          buf = IoBuffers.direct(CHUNK);
        }
        buf.clear().limit(len);
        image.read(pos, buf);
        int at = ZeroScan.firstNonZero(buf, 0, len);
        if (at >= 0) {
          return pos + at;
        }
      }
      pos += len;
    }
    return -1;
  }
}
