package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The refcount table (held in memory, at most 8 MiB as qemu allows) and the refcount blocks it
 * points to (through a bounded {@link TableCache}), with entries of 1 to 64 bits. Also places new
 * metadata at the end of the used space: a refcount block that a count needs, and a bigger table
 * when the old one is full, in an order a crash turns into leaks at worst (block before the table
 * entry that points to it, new table before the header that names it, old table freed last).
 *
 * <p>Not thread-safe: the {@link Allocator} calls it under its lock.
 */
final class Refcounts {
  /** Persists a new refcount table location in the header. */
  interface HeaderUpdate {
    void tableMoved(long offset, int clusters) throws IOException;
  }

  private final String location;
  private final BlockDevice file;
  private final Layout layout;
  private final TableCache blocks;
  private final HeaderUpdate header;
  private final Barrier barrier;
  private long[] table;
  private long tableOffset;
  private int tableClusters;
  /** Under lazy refcounts, changed blocks are written at flush instead of at once. */
  private boolean lazy;
  /** The first cluster past everything in the file or handed out this session. */
  private long end;

  Refcounts(String location, BlockDevice file, Layout layout, TableCache blocks,
      HeaderUpdate header, long[] table, long tableOffset, int tableClusters, long end,
      Barrier barrier) {
    this.location = location;
    this.barrier = barrier;
    this.file = file;
    this.layout = layout;
    this.blocks = blocks;
    this.header = header;
    this.table = table;
    this.tableOffset = tableOffset;
    this.tableClusters = tableClusters;
    this.end = end;
  }

  /** Reads the refcount table of a parsed header. */
  static long[] readTable(BlockDevice file, Qcow2Header h) throws IOException {
    int n = (int) (h.refcountTableClusters * h.clusterSize() / 8);
    ByteBuffer b = ByteBuffer.allocate(n * 8);
    file.read(h.refcountTableOffset, b);
    long[] t = new long[n];
    b.flip().asLongBuffer().get(t);
    return t;
  }

  void setLazy(boolean lazy) {
    this.lazy = lazy;
  }

  long tableOffset() {
    return tableOffset;
  }

  int tableClusters() {
    return tableClusters;
  }

  long[] table() {
    return table;
  }

  long end() {
    return end;
  }

  /** Takes {@code n} clusters past everything in use; they are free (refcount 0). */
  long takeEnd(long n) throws IOException {
    long first = end;
    if (first + n > (Layout.OFFSET_MASK >>> layout.clusterBits)) {
      throw new UnsupportedFeatureException("'" + location + "' would grow past the largest "
          + "offset a qcow2 L2 entry can hold (2^56 bytes)");
    }
    end += n;
    return first;
  }

  void noteUsed(long clusterEnd) {
    end = Math.max(end, clusterEnd);
  }

  /** The refcount of a host cluster (0 past the table or in a missing block). */
  long get(long cluster) throws IOException {
    long bi = cluster >>> layout.refblockBits;
    if (bi >= table.length) {
      return 0;
    }
    long bo = blockOffset(bi);
    if (bo == 0) {
      return 0;
    }
    return read(blocks.get(bo), cluster & (layout.refblockEntries - 1));
  }

  /**
   * The first cluster at or after {@code from} and before {@code limit} whose refcount is 0, or
   * {@code limit} when there is none.
   */
  long nextFree(long from, long limit) throws IOException {
    long c = from;
    while (c < limit) {
      long bi = c >>> layout.refblockBits;
      if (bi >= table.length) {
        return c;
      }
      long bo = blockOffset(bi);
      if (bo == 0) {
        return c;
      }
      byte[] b = blocks.get(bo);
      long blockEnd = Math.min(limit, (bi + 1) << layout.refblockBits);
      for (; c < blockEnd; c++) {
        if (read(b, c & (layout.refblockEntries - 1)) == 0) {
          return c;
        }
      }
    }
    return limit;
  }

  /** Sets the refcount of {@code count} clusters from {@code first} to {@code value}. */
  void set(long first, long count, long value) throws IOException {
    long c = first;
    long last = first + count;
    while (c < last) {
      long bi = c >>> layout.refblockBits;
      long bo = ensureBlock(bi);
      byte[] b = blocks.get(bo);
      long blockEnd = Math.min(last, (bi + 1) << layout.refblockBits);
      long i0 = c & (layout.refblockEntries - 1);
      for (; c < blockEnd; c++) {
        write(b, c & (layout.refblockEntries - 1), value);
      }
      long i1 = (blockEnd - 1) & (layout.refblockEntries - 1);
      persist(bo, b, i0, i1);
    }
  }

  /** Adds {@code delta} to one cluster's refcount; returns the new value. */
  long add(long cluster, long delta) throws IOException {
    long v = get(cluster) + delta;
    if (v < 0 || v > layout.refcountMax) {
      throw new CorruptImageException(location, "refcount of cluster " + cluster + " would become "
          + v + ", outside 0.." + layout.refcountMax + " (" + layout.refcountBits + "-bit "
          + "refcounts; run check, or amend refcount_bits)");
    }
    set(cluster, 1, v);
    return v;
  }

  /** Writes the changed entries {@code i0..i1} of a block, or marks it dirty under lazy refcounts. */
  private void persist(long bo, byte[] b, long i0, long i1) throws IOException {
    if (lazy) {
      blocks.markDirty(bo);
      return;
    }
    int from = (int) ((i0 << layout.refcountOrder) >>> 3);
    int to = (int) ((((i1 + 1) << layout.refcountOrder) + 7) >>> 3);
    try {
      file.write(bo + from, ByteBuffer.wrap(b, from, to - from));
    } catch (IOException | RuntimeException e) {
      blocks.drop(bo); // read again from the file, which may hold the old counts
      throw e;
    }
  }

  /** Writes every block changed in memory only (lazy refcounts). */
  void writeDirty() throws IOException {
    blocks.writeDirty();
  }

  private long blockOffset(long bi) throws IOException {
    long e = table[(int) bi];
    if ((e & Layout.REFTABLE_RESERVED) != 0 || e < 0) {
      throw new CorruptImageException(location, "refcount table entry " + bi, tableOffset + 8 * bi,
          "0x" + Long.toHexString(e), "a cluster-aligned offset with no reserved bits set");
    }
    long off = e & Layout.OFFSET_MASK;
    if (off != 0 && (off < layout.clusterSize || off + layout.clusterSize > fileLengthBound())) {
      throw new CorruptImageException(location, "refcount table entry " + bi, tableOffset + 8 * bi,
          "0x" + Long.toHexString(e), "a refcount block after the header and inside the file");
    }
    return off;
  }

  private long fileLengthBound() {
    return end << layout.clusterBits;
  }

  /** The block for block index {@code bi}, created (and the table grown) when missing. */
  private long ensureBlock(long bi) throws IOException {
    if (bi >= table.length) {
      growTable(bi);
    }
    long bo = blockOffset(bi);
    if (bo != 0) {
      return bo;
    }
    long rangeStart = bi << layout.refblockBits;
    long rangeEnd = rangeStart + layout.refblockEntries;
    long at = takeEnd(1);
    byte[] b = new byte[(int) layout.clusterSize];
    if (at >= rangeStart && at < rangeEnd) {
      write(b, at - rangeStart, 1); // the block counts itself
    } else {
      set(at, 1, 1);
      flushIfOrdered();
    }
    file.write(at << layout.clusterBits, ByteBuffer.wrap(b));
    flushIfOrdered();
    blocks.put(at << layout.clusterBits, b);
    table[(int) bi] = at << layout.clusterBits;
    file.write(tableOffset + 8 * bi, ByteBuffer.allocate(8).putLong(0, table[(int) bi]));
    return at << layout.clusterBits;
  }

  /**
   * Moves the table to a bigger one past the used space: new blocks for the new clusters, the
   * table, the header, then the old table freed.
   */
  private void growTable(long needIndex) throws IOException {
    long perCluster = layout.clusterSize / 8;
    long want = Math.max(needIndex + 1, table.length + table.length / 2 + 1);
    // Room for the table and its own blocks past the end, with some slack.
    want = Math.max(want, ((end + Layout.ceilDiv(want, perCluster) + 64)
        >>> layout.refblockBits) + 1);
    long tc = Layout.ceilDiv(want, perCluster);
    if (tc * layout.clusterSize > Qcow2Header.MAX_REFTABLE_BYTES) {
      throw new UnsupportedFeatureException("'" + location + "' would need a refcount table of "
          + tc * layout.clusterSize + " bytes; qcow2 allows at most "
          + Qcow2Header.MAX_REFTABLE_BYTES + " (use bigger clusters or fewer refcount bits)");
    }
    long[] grown = Arrays.copyOf(table, (int) (tc * perCluster));
    long at = takeEnd(tc);
    Map<Long, byte[]> newBlocks = new LinkedHashMap<>();
    Deque<Long> toCount = new ArrayDeque<>();
    for (long c = at; c < at + tc; c++) {
      toCount.add(c);
    }
    while (!toCount.isEmpty()) {
      long c = toCount.poll();
      long bi = c >>> layout.refblockBits;
      if (bi >= grown.length) {
        throw new IllegalStateException("refcount table growth left cluster " + c + " uncovered");
      }
      if (grown[(int) bi] == 0 && !newBlocks.containsKey(bi)) {
        long b = takeEnd(1);
        newBlocks.put(bi, new byte[(int) layout.clusterSize]);
        grown[(int) bi] = b << layout.clusterBits;
        toCount.add(b);
      }
      byte[] nb = newBlocks.get(bi);
      if (nb != null) {
        write(nb, c & (layout.refblockEntries - 1), 1);
      } else {
        set(c, 1, 1);
      }
    }
    for (Map.Entry<Long, byte[]> e : newBlocks.entrySet()) {
      long off = grown[(int) (long) e.getKey()];
      file.write(off, ByteBuffer.wrap(e.getValue()));
      blocks.put(off, e.getValue());
    }
    ByteBuffer t = ByteBuffer.allocate((int) (tc * layout.clusterSize));
    t.asLongBuffer().put(grown);
    file.write(at << layout.clusterBits, t);
    flushIfOrdered();
    long oldOffset = tableOffset;
    int oldClusters = tableClusters;
    table = grown;
    tableOffset = at << layout.clusterBits;
    tableClusters = (int) tc;
    header.tableMoved(tableOffset, tableClusters);
    set(oldOffset >>> layout.clusterBits, oldClusters, 0);
  }

  private void flushIfOrdered() throws IOException {
    if (!lazy) {
      barrier.order();
    }
  }

  /** Replaces the table after a repair rebuilt it. */
  void replace(long[] newTable, long offset, int clusters) {
    blocks.clear();
    table = newTable;
    tableOffset = offset;
    tableClusters = clusters;
  }

  // ---------------------------------------------------------------- entry codec

  long read(byte[] b, long index) {
    int order = layout.refcountOrder;
    if (order < 3) {
      int bits = 1 << order;
      long bit = index << order;
      return (b[(int) (bit >>> 3)] >>> (bit & 7)) & ((1 << bits) - 1);
    }
    int at = (int) (index << (order - 3));
    return switch (order) {
      case 3 -> b[at] & 0xffL;
      case 4 -> ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
      case 5 -> ByteBuffer.wrap(b).getInt(at) & 0xffffffffL;
      default -> ByteBuffer.wrap(b).getLong(at);
    };
  }

  void write(byte[] b, long index, long value) {
    int order = layout.refcountOrder;
    if (order < 3) {
      int bits = 1 << order;
      long bit = index << order;
      int at = (int) (bit >>> 3);
      int shift = (int) (bit & 7);
      int mask = ((1 << bits) - 1) << shift;
      b[at] = (byte) ((b[at] & ~mask) | ((int) (value << shift) & mask));
      return;
    }
    int at = (int) (index << (order - 3));
    switch (order) {
      case 3 -> b[at] = (byte) value;
      case 4 -> {
        b[at] = (byte) (value >>> 8);
        b[at + 1] = (byte) value;
      }
      case 5 -> ByteBuffer.wrap(b).putInt(at, (int) value);
      default -> ByteBuffer.wrap(b).putLong(at, value);
    }
  }
}
