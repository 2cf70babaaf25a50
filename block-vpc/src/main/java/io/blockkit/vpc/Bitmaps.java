package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The sector bitmaps of allocated blocks, cached: bit {@code 0x80 >> (k % 8)} of byte {@code k /
 * 8} is set when sector {@code k} of the block is stored in the file (clear: the parent's, or
 * zeros). Bits are read with acquire and changed with release semantics, and only by a caller
 * holding the block's lock, so a reader that sees a bit set also sees the data written before it.
 *
 * <p>One array per block is live at a time. Changed ("dirty") bitmaps stay cached until a flush
 * writes them; clean ones are dropped when more than a bounded number are cached, the check for
 * "dirty" and the drop made atomically per block.
 */
final class Bitmaps {
  private static final VarHandle BYTES = MethodHandles.arrayElementVarHandle(byte[].class);
  /** Bitmaps cached at most (beyond the dirty ones): 16 MiB of 512-byte bitmaps. */
  private static final int CACHE_BYTES = 16 << 20;

  /** Reads a block's bitmap from the file. */
  @FunctionalInterface
  interface Loader {
    byte[] load(int block) throws IOException;
  }

  private final int bytes;
  private final int limit;
  private final Loader loader;
  private final ConcurrentHashMap<Integer, byte[]> live = new ConcurrentHashMap<>();
  private final DirtySet dirty = new DirtySet();

  Bitmaps(int bytes, Loader loader) {
    this.bytes = bytes;
    this.limit = Math.max(64, CACHE_BYTES / Math.max(1, bytes));
    this.loader = loader;
  }

  int bytes() {
    return bytes;
  }

  /** The live bitmap of an allocated block, loaded from the file on first use. */
  byte[] get(int block) throws IOException {
    byte[] b = live.get(block);
    if (b == null) {
      b = load(block);
      trim();
    }
    return b;
  }

  /**
   * The live bitmap of a block about to change; the caller holds the block's lock and calls
   * {@link #changed} after changing it. Marked dirty first, so it cannot be dropped meanwhile.
   */
  byte[] forUpdate(int block) throws IOException {
    dirty.mark(block);
    return load(block);
  }

  /** Records a change of {@code block}'s bitmap for the next flush. */
  void changed(int block) {
    dirty.mark(block);
  }

  /** A new block's bitmap, already in the file. */
  void put(int block, byte[] bitmap) {
    live.put(block, bitmap);
    trim();
  }

  /** Drops every cached bitmap (after repairs rewrote blocks); dirty ones must have been written. */
  void clear() {
    live.keySet().removeIf(b -> !dirty.contains(b));
  }

  private byte[] load(int block) throws IOException {
    try {
      return live.computeIfAbsent(block, b -> {
        try {
          byte[] loaded = loader.load(b);
          if (loaded.length != bytes) {
            throw new IllegalStateException("bitmap of " + loaded.length + " bytes");
          }
          return loaded;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private void trim() {
    if (live.size() <= limit) {
      return;
    }
    for (Integer b : live.keySet()) {
      if (live.size() <= limit / 2) {
        break;
      }
      live.compute(b, (k, v) -> dirty.contains(k) ? v : null);
    }
  }

  boolean hasChanges() {
    return !dirty.isEmpty();
  }

  /** True when {@code block}'s bitmap changed in memory and the change is not written yet. */
  boolean isPending(int block) {
    return dirty.contains(block);
  }

  /** A changed bitmap as it was when a flush began. */
  record Copy(int block, long generation, byte[] bytes) {}

  /**
   * Copies of the changed bitmaps, each taken under its block's lock (so a copy never holds half
   * of a change).
   */
  List<Copy> changes(BlockLocks locks) {
    List<Copy> out = new ArrayList<>();
    for (Map.Entry<Integer, Long> c : dirty.snapshot().entrySet()) {
      int block = c.getKey();
      locks.lock(block);
      try {
        byte[] b = live.get(block);
        if (b != null) {
          out.add(new Copy(block, c.getValue(), snapshot(b)));
        }
      } finally {
        locks.unlock(block);
      }
    }
    return out;
  }

  /** Marks a copy written: clean unless its block changed after the copy. */
  void written(Copy c) {
    dirty.written(c.block(), c.generation());
  }

  // ---------------------------------------------------------------- bits

  static boolean isSet(byte[] bitmap, long sector) {
    int i = (int) (sector >>> 3);
    return ((byte) BYTES.getAcquire(bitmap, i) & (0x80 >>> (int) (sector & 7))) != 0;
  }

  /** Sets or clears sectors {@code [first, end)}; the caller holds the block's lock. */
  static void setRange(byte[] bitmap, long first, long end, boolean set) {
    for (long s = first; s < end; s++) {
      int i = (int) (s >>> 3);
      int mask = 0x80 >>> (int) (s & 7);
      byte old = (byte) BYTES.getAcquire(bitmap, i);
      byte now = (byte) (set ? old | mask : old & ~mask);
      if (now != old) {
        BYTES.setRelease(bitmap, i, now);
      }
    }
  }

  /** The first sector in {@code [from, end)} whose bit differs from {@code from}'s, or end. */
  static long runEnd(byte[] bitmap, long from, long end) {
    boolean bit = isSet(bitmap, from);
    long s = from + 1;
    while (s < end) {
      if ((s & 7) == 0 && end - s >= 8) {
        byte whole = (byte) BYTES.getAcquire(bitmap, (int) (s >>> 3));
        if (whole == (bit ? (byte) 0xff : 0)) {
          s += 8;
          continue;
        }
      }
      if (isSet(bitmap, s) != bit) {
        return s;
      }
      s++;
    }
    return end;
  }

  static byte[] snapshot(byte[] bitmap) {
    byte[] copy = new byte[bitmap.length];
    for (int i = 0; i < copy.length; i++) {
      copy[i] = (byte) BYTES.getAcquire(bitmap, i);
    }
    return copy;
  }

  static ByteBuffer wrap(byte[] bitmap) {
    return ByteBuffer.wrap(bitmap);
  }
}
