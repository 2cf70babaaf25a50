package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The block map: one little-endian u32 per virtual block, either a physical block index or one of
 * the markers {@link #FREE} and {@link #ZERO}. Held in pages (16384 entries by default) that are
 * read from the file the first time they are needed, so opening a large map costs nothing up
 * front. Entries are atomic: readers never lock, writers publish an entry only after its data is
 * written.
 *
 * <p>Memory stays bounded whatever the header claims (QEMU's limit is half a billion entries, a
 * 2 GiB map): pages nobody changed are <em>clean</em> and at most {@link #cacheLimit} of them are
 * kept, the oldest dropped first and read again when needed. A page whose entries a session
 * changes is <em>pinned</em> (never dropped) from before the change until {@link #releasePinned},
 * so a change can never be lost by re-reading the page from the file before it was written.
 */
final class BlockMap {
  /** Never allocated: reads as zeros in a base image, from the parent in a differencing one. */
  static final int FREE = 0xffffffff;
  /** Reads as zeros (VirtualBox's VDI_IMAGE_BLOCK_ZERO, QEMU's VDI_DISCARDED). */
  static final int ZERO = 0xfffffffe;

  /** Entries per page: 16384 (64 KiB of map). */
  static final int DEFAULT_PAGE_SHIFT = 14;
  private static final int MAX_WRITE_ENTRIES = 1 << 18;

  /** A page that may be dropped: only ever read from the file, never changed in memory. */
  private record Clean(AtomicIntegerArray entries) {
  }

  private final int pageShift;
  private final int pageMask;
  private final BlockDevice file;
  private final long offset;
  private final long entries;
  /** Per page: null (not in memory), a {@link Clean} page, or a pinned AtomicIntegerArray. */
  private final AtomicReferenceArray<Object> pages;
  private final int cacheLimit;
  /** Clean pages in the order they were loaded (may hold stale indexes of pinned or dropped pages). */
  private final ConcurrentLinkedQueue<Integer> loadOrder = new ConcurrentLinkedQueue<>();
  private final AtomicInteger cleanPages = new AtomicInteger();

  BlockMap(BlockDevice file, long offset, long entries) {
    this(file, offset, entries, DEFAULT_PAGE_SHIFT, defaultCacheLimit());
  }

  /**
   * @param pageShift log2 of the entries per page
   * @param cacheLimit clean pages kept in memory (at least one)
   */
  BlockMap(BlockDevice file, long offset, long entries, int pageShift, int cacheLimit) {
    this.file = file;
    this.offset = offset;
    this.entries = entries;
    this.pageShift = pageShift;
    this.pageMask = (1 << pageShift) - 1;
    this.pages = new AtomicReferenceArray<>((int) ((entries + pageMask) >>> pageShift));
    this.cacheLimit = Math.max(1, cacheLimit);
  }

  /** Clean pages kept by default: a sixteenth of the heap (at least 16 pages). */
  static int defaultCacheLimit() {
    return (int) Math.max(16, Math.min(Integer.MAX_VALUE,
        Runtime.getRuntime().maxMemory() / 16 / (4L << DEFAULT_PAGE_SHIFT)));
  }

  static boolean isAllocated(int entry) {
    return Integer.compareUnsigned(entry, ZERO) < 0;
  }

  long size() {
    return entries;
  }

  int get(long index) throws IOException {
    return page(index).get((int) (index & pageMask));
  }

  /**
   * A reader for scans over many entries that looks a page up only when the scan leaves it. For
   * one thread; sees every change made through {@link #set} except to a page dropped and read
   * again since the cursor entered it, so scans that change entries read each entry before they
   * set it.
   */
  final class Cursor {
    private AtomicIntegerArray page;
    private long first = Long.MAX_VALUE;

    int get(long index) throws IOException {
      long i = index - first;
      if (i < 0 || i >= page.length()) {
        page = page(index);
        first = index & ~(long) pageMask;
        i = index - first;
      }
      return page.get((int) i);
    }
  }

  Cursor cursor() {
    return new Cursor();
  }

  /**
   * How many entries from {@code from} on (at most {@code max}) are not allocated, stopping at the
   * first allocated one: a scan page by page, for long runs of FREE and ZERO.
   */
  long unallocatedRun(long from, long max) throws IOException {
    long n = 0;
    while (n < max && from + n < entries) {
      AtomicIntegerArray page = page(from + n);
      for (int i = (int) ((from + n) & pageMask); i < page.length() && n < max; i++, n++) {
        if (isAllocated(page.get(i))) {
          return n;
        }
      }
    }
    return n;
  }

  /** Sets an entry in memory; its page stays pinned until written and {@link #releasePinned released}. */
  void set(long index, int entry) throws IOException {
    pinned(index).set((int) (index & pageMask), entry);
  }

  /** Pages held in memory now, clean and pinned (for tests of the memory bound). */
  int pagesInMemory() {
    int n = 0;
    for (int p = 0; p < pages.length(); p++) {
      if (pages.get(p) != null) {
        n++;
      }
    }
    return n;
  }

  private AtomicIntegerArray page(long index) throws IOException {
    int p = (int) (index >>> pageShift);
    AtomicIntegerArray inMemory = entriesOf(pages.get(p));
    if (inMemory != null) {
      return inMemory;
    }
    Clean loaded = new Clean(load(p));
    while (true) {
      if (pages.compareAndSet(p, null, loaded)) {
        loadOrder.add(p);
        if (cleanPages.incrementAndGet() > cacheLimit) {
          dropOldestClean();
        }
        return loaded.entries();
      }
      // A racing loader installed the same bytes first (or its page was dropped meanwhile: retry).
      inMemory = entriesOf(pages.get(p));
      if (inMemory != null) {
        return inMemory;
      }
    }
  }

  private static AtomicIntegerArray entriesOf(Object slot) {
    if (slot instanceof AtomicIntegerArray pinned) {
      return pinned;
    }
    return slot instanceof Clean clean ? clean.entries() : null;
  }

  private AtomicIntegerArray pinned(long index) throws IOException {
    int p = (int) (index >>> pageShift);
    while (true) {
      Object slot = pages.get(p);
      if (slot instanceof AtomicIntegerArray pinned) {
        return pinned;
      }
      if (slot instanceof Clean clean) {
        if (pages.compareAndSet(p, clean, clean.entries())) {
          cleanPages.decrementAndGet();
          return clean.entries();
        }
        continue;
      }
      page(index);
    }
  }

  private void dropOldestClean() {
    Integer victim;
    while ((victim = loadOrder.poll()) != null) {
      Object slot = pages.get(victim);
      if (slot instanceof Clean && pages.compareAndSet(victim, slot, null)) {
        cleanPages.decrementAndGet();
        return;
      }
    }
  }

  private AtomicIntegerArray load(int p) throws IOException {
    long first = (long) p << pageShift;
    int n = (int) Math.min(1L << pageShift, entries - first);
    ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    file.read(offset + 4 * first, buf);
    buf.flip();
    int[] values = new int[n];
    buf.asIntBuffer().get(values);
    return new AtomicIntegerArray(values);
  }

  /**
   * Makes every pinned page clean (droppable) again. Only for callers that have written every
   * change with {@link #write} and hold off every concurrent writer (a repair holding the
   * layout lock exclusively), since a dropped page is read back from the file.
   */
  void releasePinned() {
    for (int p = 0; p < pages.length(); p++) {
      Object slot = pages.get(p);
      if (slot instanceof AtomicIntegerArray pinned && pages.compareAndSet(p, slot,
          new Clean(pinned))) {
        loadOrder.add(p);
        if (cleanPages.incrementAndGet() > cacheLimit) {
          dropOldestClean();
        }
      }
    }
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
