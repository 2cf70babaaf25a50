package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.IoBuffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Compares what two images read as, through their backing chains: {@code qemu-img compare}.
 *
 * <pre>{@code
 * CompareResult r = Compare.of(a, b).run();
 * if (!r.identical()) System.out.println("differ at " + r.offset());
 * }</pre>
 *
 * <p>qemu's algorithm: both images are walked by block status; runs both call zero are equal
 * without reading, a run one side calls zero must read as zeros on the other, the rest is read and
 * compared. A mismatch is reported at the start of its 512-byte sector. Images of different sizes
 * compare equal when the longer one reads zeros past the shorter's end (unless {@link #strict}).
 */
public final class Compare {
  static final int CHUNK = 2 << 20;

  private final BlockDevice first;
  private final BlockDevice second;
  private String name1;
  private String name2;
  private boolean strict;
  private ProgressListener progress = ProgressListener.NONE;
  private Cancellation cancel = new Cancellation();
  private ByteBuffer buf1;
  private ByteBuffer buf2;

  private Compare(BlockDevice first, BlockDevice second) {
    this.first = Objects.requireNonNull(first, "first");
    this.second = Objects.requireNonNull(second, "second");
    this.name1 = first.location();
    this.name2 = second.location();
  }

  /** A comparison of two open images. */
  public static Compare of(BlockDevice first, BlockDevice second) {
    return new Compare(first, second);
  }

  /** The images' names in error messages (default their locations). */
  public Compare names(String first, String second) {
    this.name1 = Objects.requireNonNull(first, "first");
    this.name2 = Objects.requireNonNull(second, "second");
    return this;
  }

  /**
   * Strict mode: images of different sizes differ, and so do runs whose whole block status
   * (allocation, zero, data, offset validity) differs, whatever they read as.
   */
  public Compare strict(boolean on) {
    this.strict = on;
    return this;
  }

  public Compare progress(ProgressListener listener) {
    this.progress = Objects.requireNonNull(listener, "listener");
    return this;
  }

  public Compare cancellation(Cancellation token) {
    this.cancel = Objects.requireNonNull(token, "token");
    return this;
  }

  /**
   * Compares.
   *
   * @throws CompareException when block status or a read fails (it says which image and where)
   * @throws CancelledException when the token was tripped
   */
  public CompareResult run() throws IOException {
    long size1 = first.size();
    long size2 = second.size();
    Tracker t = new Tracker(progress, Math.max(size1, size2));
    t.start();
    CompareResult r = null;
    try {
      r = compare(size1, size2, t);
      return r;
    } finally {
      t.finish(r != null && r.identical());
    }
  }

  private CompareResult compare(long size1, long size2, Tracker t) throws IOException {
    if (size1 != size2 && strict) {
      return new CompareResult(CompareResult.Outcome.SIZE_MISMATCH, -1, true);
    }
    buf1 = IoBuffers.direct(CHUNK);
    buf2 = IoBuffers.direct(CHUNK);
    ImageMap map1 = ImageMap.of(first);
    ImageMap map2 = ImageMap.of(second);
    boolean sizes = size1 != size2;
    long common = Math.min(size1, size2);
    long pos = 0;
    while (pos < common) {
      cancel.check("compare was interrupted");
      MapEntry s1 = status(map1, name1, pos, common - pos);
      MapEntry s2 = status(map2, name2, pos, common - pos);
      long chunk = Math.min(s1.length(), s2.length());
      if (strict && !sameStatus(s1, s2)) {
        return new CompareResult(CompareResult.Outcome.STATUS_MISMATCH, pos, sizes);
      }
      if (!(s1.zero() && s2.zero())) {
        chunk = Math.min(chunk, CHUNK);
        long at;
        if (!s1.zero() && !s2.zero()) {
          read(first, name1, pos, chunk, buf1);
          read(second, name2, pos, chunk, buf2);
          long diff = buf1.mismatch(buf2);
          at = diff < 0 ? -1 : sector(pos, diff);
        } else {
          at = s1.zero() ? nonZero(second, name2, pos, chunk)
              : nonZero(first, name1, pos, chunk);
        }
        if (at >= 0) {
          return new CompareResult(CompareResult.Outcome.CONTENT_MISMATCH, at, sizes);
        }
      }
      pos += chunk;
      t.add(chunk);
    }
    if (sizes) {
      BlockDevice over = size1 > size2 ? first : second;
      ImageMap map = size1 > size2 ? map1 : map2;
      String name = size1 > size2 ? name1 : name2;
      long total = Math.max(size1, size2);
      while (pos < total) {
        cancel.check("compare was interrupted");
        MapEntry s = status(map, name, pos, total - pos);
        long chunk = s.length();
        if (!s.zero()) {
          chunk = Math.min(chunk, CHUNK);
          long at = nonZero(over, name, pos, chunk);
          if (at >= 0) {
            return new CompareResult(CompareResult.Outcome.CONTENT_MISMATCH, at, true);
          }
        }
        pos += chunk;
        t.add(chunk);
      }
    }
    return new CompareResult(CompareResult.Outcome.IDENTICAL, -1, sizes);
  }

  /** qemu's strict test compares the whole status: allocation, zero, data and offset validity. */
  private static boolean sameStatus(MapEntry x, MapEntry y) {
    return x.present() == y.present() && x.zero() == y.zero() && x.data() == y.data()
        && (x.offset() >= 0) == (y.offset() >= 0);
  }

  /** The start of the 512-byte sector holding byte {@code index} of the run at {@code pos}. */
  private static long sector(long pos, long index) {
    return pos + index / 512 * 512;
  }

  private static MapEntry status(ImageMap map, String name, long pos, long len)
      throws CompareException {
    try {
      return map.status(pos, len);
    } catch (IOException | RuntimeException e) {
      throw new CompareException(CompareException.Step.BLOCK_STATUS, name, pos, e);
    }
  }

  private static void read(BlockDevice d, String name, long pos, long len, ByteBuffer buf)
      throws CompareException {
    buf.clear().limit((int) len);
    try {
      d.read(pos, buf);
    } catch (IOException | RuntimeException e) {
      throw new CompareException(CompareException.Step.READ, name, pos, e);
    }
    buf.flip();
  }

  /** Reads a run only one side stores: the offset of its first non-zero sector, or -1. */
  private long nonZero(BlockDevice d, String name, long pos, long len) throws CompareException {
    read(d, name, pos, len, buf1);
    int idx = ZeroScan.firstNonZero(buf1, 0, (int) len);
    return idx < 0 ? -1 : sector(pos, idx);
  }
}
