package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.qcow2.Segment.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Virtual offsets to host offsets: the L1 table (in memory) and the L2 tables (through a bounded
 * {@link TableCache}). Decodes runs of one status ({@link #segments}), and changes L2 entries in
 * the crash-safe order: a new or copied L2 table is written and flushed before the L1 entry that
 * points to it, and an entry is written only after the data it points to.
 *
 * <p>Locking: the entries of one L2 table (and its L1 entry) are read and changed under {@link
 * #lock(long)}, one of a fixed set of locks chosen by L1 index, held only for metadata work. The
 * L1 array itself is replaced (by a resize) only while the image is held exclusively.
 */
final class ClusterMap {
  private static final int LOCKS = 64;

  private final String location;
  private final BlockDevice file;
  private final Layout layout;
  private final TableCache l2Cache;
  private final boolean dataFile;
  private final LongSupplier fileLength;
  private final ReentrantLock[] locks = new ReentrantLock[LOCKS];
  private volatile long[] l1;
  private volatile long l1Offset;
  /** Set for a snapshot's L1: every L2 table is then read-only. */
  private final boolean readOnly;
  private final Barrier barrier;

  ClusterMap(String location, BlockDevice file, Layout layout, TableCache l2Cache,
      boolean dataFile, LongSupplier fileLength, long[] l1, long l1Offset, boolean readOnly,
      Barrier barrier) {
    this.location = location;
    this.barrier = barrier;
    this.file = file;
    this.layout = layout;
    this.l2Cache = l2Cache;
    this.dataFile = dataFile;
    this.fileLength = fileLength;
    this.l1 = l1;
    this.l1Offset = l1Offset;
    this.readOnly = readOnly;
    for (int i = 0; i < LOCKS; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /** Reads an L1 table of {@code entries} entries. */
  static long[] readL1(BlockDevice file, long offset, int entries) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(entries * 8);
    if (entries > 0) {
      file.read(offset, b);
    }
    long[] t = new long[entries];
    b.flip().asLongBuffer().get(t);
    return t;
  }

  ReentrantLock lock(long l1Index) {
    return locks[(int) (l1Index % LOCKS)];
  }

  long[] l1() {
    return l1;
  }

  long l1Offset() {
    return l1Offset;
  }

  /** Replaces the L1 table (resize, repair); the caller holds the image exclusively. */
  void replaceL1(long[] table, long offset) {
    l1 = table;
    l1Offset = offset;
  }

  Layout layout() {
    return layout;
  }

  /** The L1 entry, or 0 past the table. */
  long l1Entry(long l1Index) {
    long[] t = l1;
    return l1Index < t.length ? t[(int) l1Index] : 0;
  }

  /** Why an L1 entry cannot be followed, or null when it can (0 included). */
  String l1Problem(long entry) {
    long off = entry & Layout.OFFSET_MASK;
    if ((entry & Layout.L1_RESERVED) != 0) {
      return "L1 entry 0x" + Long.toHexString(entry) + " has reserved bits set";
    }
    if (off == 0) {
      return null;
    }
    if (off < layout.clusterSize) {
      return "L1 entry points into the header cluster (0x" + Long.toHexString(entry) + ")";
    }
    if (off > fileLength.getAsLong() - layout.clusterSize) {
      return "L1 entry points to an L2 table at " + off + ", past the end of the file";
    }
    return null;
  }

  /** The L2 table at {@code offset} (valid per {@link #l1Problem}); caller holds its lock. */
  byte[] table(long offset) throws IOException {
    return l2Cache.get(offset);
  }

  long entry(byte[] table, int index) {
    return ByteBuffer.wrap(table).getLong(index * layout.l2EntryBytes);
  }

  long bitmap(byte[] table, int index) {
    return layout.extendedL2 ? ByteBuffer.wrap(table).getLong(index * 16 + 8) : 0;
  }

  /**
   * The runs of {@code [offset, offset+length)}, which must lie inside one L2 table's span.
   * Takes the table's lock for the lookup only.
   */
  List<Segment> segments(long offset, long length) throws IOException {
    long l1Index = layout.l1Index(offset);
    List<Segment> out = new ArrayList<>();
    ReentrantLock lock = lock(l1Index);
    lock.lock();
    try {
      long l1e = l1Entry(l1Index);
      String bad = l1Problem(l1e);
      long l2 = l1e & Layout.OFFSET_MASK;
      if (bad != null || l2 == 0) {
        out.add(new Segment(offset, length, bad != null ? Kind.BAD : Kind.UNALLOCATED, -1, 0,
            bad));
        return out;
      }
      byte[] t = table(l2);
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        int idx = layout.l2Index(pos);
        long e = entry(t, idx);
        long bm = bitmap(t, idx);
        long clusterStart = layout.clusterStart(pos);
        long clusterEnd = Math.min(end, clusterStart + layout.clusterSize);
        decode(clusterStart, e, bm, pos, clusterEnd, out);
        pos = clusterEnd;
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  /** Appends the runs of one cluster's part {@code [from, to)} given its L2 entry. */
  void decode(long clusterStart, long e, long bm, long from, long to, List<Segment> out) {
    if ((e & Layout.COMPRESSED) != 0) {
      String bad = compressedProblem(e, bm);
      add(out, new Segment(from, to - from, bad != null ? Kind.BAD : Kind.COMPRESSED, -1, e,
          bad));
      return;
    }
    long host = e & Layout.OFFSET_MASK;
    boolean hasHost = host != 0 || (dataFile && (e & Layout.COPIED) != 0);
    if (!layout.extendedL2) {
      Segment s;
      if ((e & Layout.ZERO) != 0) {
        s = new Segment(from, to - from, Kind.ZERO,
            hasHost && (e & 0x1ffL & ~Layout.ZERO) == 0 && layout.aligned(host)
                ? host + (from - clusterStart) : -1, 0, null);
      } else if (!hasHost) {
        s = new Segment(from, to - from, Kind.UNALLOCATED, -1, 0, null);
      } else {
        String bad = hostProblem(e, host);
        s = bad != null ? new Segment(from, to - from, Kind.BAD, -1, 0, bad)
            : new Segment(from, to - from, Kind.NORMAL, host + (from - clusterStart), 0, null);
      }
      add(out, s);
      return;
    }
    String hostBad = hasHost ? hostProblem(e, host) : null;
    long pos = from;
    while (pos < to) {
      int sc = (int) ((pos - clusterStart) / layout.subclusterSize);
      long scEnd = Math.min(to, clusterStart + (sc + 1) * layout.subclusterSize);
      boolean alloc = (bm & (1L << sc)) != 0;
      boolean zero = (bm & (1L << (sc + 32))) != 0;
      Segment s;
      if (alloc && zero) {
        s = bad(pos, scEnd, "subcluster " + sc + " is marked both allocated and zero");
      } else if (alloc && !hasHost) {
        s = bad(pos, scEnd, "subcluster " + sc + " is allocated but its cluster has no offset");
      } else if (alloc && hostBad != null) {
        s = bad(pos, scEnd, hostBad);
      } else if (alloc) {
        s = new Segment(pos, scEnd - pos, Kind.NORMAL, host + (pos - clusterStart), 0, null);
      } else if (zero) {
        s = new Segment(pos, scEnd - pos, Kind.ZERO, -1, 0, null);
      } else {
        s = new Segment(pos, scEnd - pos, Kind.UNALLOCATED, -1, 0, null);
      }
      add(out, s);
      pos = scEnd;
    }
  }

  private static Segment bad(long from, long to, String why) {
    return new Segment(from, to - from, Kind.BAD, -1, 0, why);
  }

  private static void add(List<Segment> out, Segment s) {
    if (!out.isEmpty() && out.get(out.size() - 1).continuedBy(s)) {
      out.set(out.size() - 1, out.get(out.size() - 1).extend(s));
    } else {
      out.add(s);
    }
  }

  /** Why a standard entry's data cluster cannot be read, or null. */
  String hostProblem(long e, long host) {
    if (!layout.aligned(host)) {
      return "L2 entry 0x" + Long.toHexString(e) + " points to an unaligned data cluster";
    }
    if (!dataFile && host < layout.clusterSize) {
      return "L2 entry points into the header cluster";
    }
    if (!dataFile && host >= fileLength.getAsLong()) {
      return "data cluster at " + host + " lies past the end of the file ("
          + fileLength.getAsLong() + " bytes)";
    }
    return null;
  }

  /** Why a compressed entry cannot be read, or null. */
  String compressedProblem(long e, long bm) {
    if (dataFile) {
      return "compressed cluster in an image with an external data file";
    }
    if (bm != 0) {
      return "compressed cluster with a non-zero subcluster bitmap";
    }
    long off = layout.compressedOffset(e);
    if (off < layout.clusterSize || off >= fileLength.getAsLong()) {
      return "compressed data at " + off + " lies outside the file's data area";
    }
    return null;
  }

  // ---------------------------------------------------------------- changing entries

  /**
   * The L2 table of {@code l1Index} ready to be changed: allocated when missing, copied when
   * shared with a snapshot (its L1 entry without COPIED). Caller holds {@link #lock(long)}.
   *
   * @return the table's host offset
   */
  long writableTable(long l1Index, Allocator alloc) throws IOException {
    if (readOnly) {
      throw new IllegalStateException("snapshot tables are read-only");
    }
    long l1e = l1Entry(l1Index);
    String bad = l1Problem(l1e);
    if (bad != null) {
      throw new io.blockkit.api.error.CorruptImageException(location, "L1 entry " + l1Index
          + ": " + bad + " (run check -r all)");
    }
    long old = l1e & Layout.OFFSET_MASK;
    if (old != 0 && (l1e & Layout.COPIED) != 0) {
      return old;
    }
    byte[] fresh = old == 0 ? new byte[(int) layout.clusterSize] : table(old).clone();
    long at = alloc.allocateOne() << layout.clusterBits;
    file.write(at, ByteBuffer.wrap(fresh));
    barrier.order(); // the table is durable before the L1 entry names it
    l2Cache.put(at, fresh);
    setL1(l1Index, at | Layout.COPIED);
    if (old != 0) {
      alloc.free(old >>> layout.clusterBits, 1);
    }
    return at;
  }

  /** Writes an L1 entry (in memory and in the file). */
  void setL1(long l1Index, long value) throws IOException {
    // The file first: after a failed write the table in memory still says what the disk says.
    file.write(l1Offset + 8 * l1Index, ByteBuffer.allocate(8).putLong(0, value));
    l1[(int) l1Index] = value;
  }

  /** Sets entries {@code [from, from+n)} of the table at {@code l2} and writes them. */
  void setEntries(long l2, int from, long[] entries, long[] bitmaps, int n) throws IOException {
    byte[] t = table(l2);
    ByteBuffer b = ByteBuffer.wrap(t);
    for (int i = 0; i < n; i++) {
      b.putLong((from + i) * layout.l2EntryBytes, entries[i]);
      if (layout.extendedL2) {
        b.putLong((from + i) * 16 + 8, bitmaps[i]);
      }
    }
    int start = from * layout.l2EntryBytes;
    try {
      file.write(l2 + start, ByteBuffer.wrap(t, start, n * layout.l2EntryBytes));
    } catch (IOException | RuntimeException e) {
      l2Cache.drop(l2); // read again from the file, which may hold the old entries
      throw e;
    }
  }

  /** Forgets a cached table whose cluster is being freed. */
  void forget(long l2) {
    l2Cache.drop(l2);
  }

  void clearCache() {
    l2Cache.clear();
  }
}
