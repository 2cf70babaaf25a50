package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The block map: one little-endian u32 per virtual block, either a physical block index or one of
 * the markers {@link #FREE} and {@link #ZERO}. Held in pages that are read from the file the first
 * time they are needed, so a read-only open of a large map costs nothing up front. Entries are
 * atomic: readers never lock, writers publish an entry only after its data is written.
 */
final class BlockMap {
  /** Never allocated: reads as zeros in a base image, from the parent in a differencing one. */
  static final int FREE = 0xffffffff;
  /** Reads as zeros (VirtualBox's VDI_IMAGE_BLOCK_ZERO, QEMU's VDI_DISCARDED). */
  static final int ZERO = 0xfffffffe;

  private static final int PAGE_SHIFT = 14;
  private static final int PAGE_ENTRIES = 1 << PAGE_SHIFT;
  private static final int MAX_WRITE_ENTRIES = 1 << 18;

  private final BlockDevice file;
  private final long offset;
  private final long entries;
  private final AtomicReferenceArray<AtomicIntegerArray> pages;

  BlockMap(BlockDevice file, long offset, long entries) {
    this.file = file;
    this.offset = offset;
    this.entries = entries;
    this.pages = new AtomicReferenceArray<>((int) ((entries + PAGE_ENTRIES - 1) >>> PAGE_SHIFT));
  }

  static boolean isAllocated(int entry) {
    return Integer.compareUnsigned(entry, ZERO) < 0;
  }

  long size() {
    return entries;
  }

  int get(long index) throws IOException {
    return page(index).get((int) (index & (PAGE_ENTRIES - 1)));
  }

  void set(long index, int entry) throws IOException {
    page(index).set((int) (index & (PAGE_ENTRIES - 1)), entry);
  }

  /** Reads every page now (writable sessions and checks need the whole map). */
  void loadAll() throws IOException {
    for (long i = 0; i < entries; i += PAGE_ENTRIES) {
      page(i);
    }
  }

  private AtomicIntegerArray page(long index) throws IOException {
    int p = (int) (index >>> PAGE_SHIFT);
    AtomicIntegerArray page = pages.get(p);
    if (page != null) {
      return page;
    }
    long first = (long) p << PAGE_SHIFT;
    int n = (int) Math.min(PAGE_ENTRIES, entries - first);
    ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    file.read(offset + 4 * first, buf);
    buf.flip();
    AtomicIntegerArray loaded = new AtomicIntegerArray(n);
    for (int i = 0; i < n; i++) {
      loaded.set(i, buf.getInt());
    }
    // Two racing loaders read the same bytes; the first one installed wins.
    return pages.compareAndSet(p, null, loaded) ? loaded : pages.get(p);
  }

  /**
   * The entries {@code [from, to]} as they are in memory now, widened to whole 512-byte sectors of
   * the file but never outside the map: the bytes a map write puts on disk.
   *
   * @param offset file offset of the first byte
   * @param chunks the bytes, in order, each at most {@link #MAX_WRITE_ENTRIES} entries
   * @param highestBlock the highest physical block any of these entries uses (entries at or past
   *     the map's own size, which check reports as corrupt, excluded), or -1
   */
  record Sectors(long offset, java.util.List<ByteBuffer> chunks, long highestBlock) {}

  Sectors sectors(long from, long to) throws IOException {
    long start = offset + 4 * from;
    long end = offset + 4 * (to + 1);
    start = Math.max(offset, start & -512L);
    end = Math.min(offset + 4 * entries, (end + 511) & -512L);
    long firstEntry = (start - offset + 3) / 4;
    long lastEntry = (end - offset) / 4;
    long highest = -1;
    java.util.List<ByteBuffer> chunks = new java.util.ArrayList<>();
    // Normal requests change a few sectors and need one chunk; only repairs span more.
    for (long chunk = firstEntry; chunk < lastEntry; chunk += MAX_WRITE_ENTRIES) {
      int n = (int) Math.min(MAX_WRITE_ENTRIES, lastEntry - chunk);
      ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        int e = get(chunk + i);
        if (isAllocated(e) && Integer.toUnsignedLong(e) < entries) {
          highest = Math.max(highest, Integer.toUnsignedLong(e));
        }
        buf.putInt(e);
      }
      buf.flip();
      chunks.add(buf);
    }
    return new Sectors(offset + 4 * firstEntry, chunks, highest);
  }

  /** Writes sectors taken by {@link #sectors}. Callers serialise map writes. */
  void write(Sectors s) throws IOException {
    long at = s.offset();
    for (ByteBuffer chunk : s.chunks()) {
      int n = chunk.remaining();
      file.write(at, chunk.duplicate());
      at += n;
    }
  }
}
