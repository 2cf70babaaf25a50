package io.blockkit.qcow2;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.qcow2.Segment.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The write paths of an open image: data writes (in place, allocating, copy-on-write from the
 * backing, a snapshot's shared cluster or a compressed one, and compressed writes), zero writes
 * and discards, the first write's header changes, and flushing metadata.
 *
 * <p>A request is cut at L2 table boundaries. For each piece the clusters are locked shared when
 * every one of them can be written in place (allocated, owned by this layer alone, and every
 * touched subcluster allocated); otherwise exclusively, and then the piece is planned cluster by
 * cluster: new clusters are allocated (refcounts durable first, see {@link Allocator}), data is
 * written, then the L2 entries (the L2 table itself allocated or copied first), and the clusters
 * the old entries pointed to are freed at the next flush.
 */
final class Writer {
  private enum Op { DATA, ZERO, DISCARD }

  private final Qcow2Image img;
  private final Layout layout;
  private final ClusterMap map;
  private final long cs;

  Writer(Qcow2Image img) {
    this.img = img;
    this.layout = img.layout;
    this.map = img.map;
    this.cs = layout.clusterSize;
  }

  // ---------------------------------------------------------------- entry points

  void write(long offset, ByteBuffer src) throws IOException {
    ensurePrepared();
    img.state.readLock().lock();
    try {
      long pos = offset;
      long end = offset + src.remaining();
      while (pos < end) {
        long chunkEnd = Math.min(end, img.chunkEnd(pos));
        ByteBuffer part = src.slice();
        part.limit((int) (chunkEnd - pos));
        chunk(Op.DATA, pos, chunkEnd - pos, part);
        src.position(src.position() + (int) (chunkEnd - pos));
        pos = chunkEnd;
      }
    } finally {
      img.state.readLock().unlock();
    }
    settleIfMany();
  }

  /**
   * Zero writes and discards. Within each cluster the request's range changes either metadata
   * only (it covers whole subclusters, or whole clusters, and the image can say "zero" (v3) or
   * unallocated clusters read zeros) or the bytes (written as zeros through the data path); never
   * both, so that a crash leaves each cluster with its old or its new contents. A discard writes
   * zeros only where this layer holds data (a range that reads the backing keeps reading it).
   */
  void zero(long offset, long length, boolean discard) throws IOException {
    ensurePrepared();
    long end = offset + length;
    long firstEnd = Math.min(end, layout.clusterStart(offset) + cs);
    zeroPart(offset, firstEnd, discard);
    if (firstEnd < end) {
      long lastStart = Math.max(firstEnd, layout.clusterStart(end - 1));
      if (firstEnd < lastStart) {
        zeroPart(firstEnd, lastStart, discard); // whole clusters
      }
      zeroPart(lastStart, end, discard);
    }
    settleIfMany();
  }

  /** {@code [from, to)}: part of one cluster, or whole clusters. */
  private void zeroPart(long from, long to, boolean discard) throws IOException {
    long unit = layout.subclusterSize;
    boolean aligned = from % unit == 0 && (to % unit == 0 || to == img.size());
    if (!aligned || (!discard && !metadataZeroes())) {
      zeroBytesUnlessZero(from, to, discard);
      return;
    }
    img.state.readLock().lock();
    try {
      long pos = from;
      while (pos < to) {
        long chunkEnd = Math.min(to, img.chunkEnd(pos));
        chunk(discard ? Op.DISCARD : Op.ZERO, pos, chunkEnd - pos, null);
        pos = chunkEnd;
      }
    } finally {
      img.state.readLock().unlock();
    }
  }

  /** Whether whole clusters can be zeroed through metadata (else zero bytes are written). */
  private boolean metadataZeroes() {
    if (img.externalData) {
      return img.zeroFlag() && !img.dataFileRaw();
    }
    return img.zeroFlag() || !img.namesBacking();
  }

  /**
   * Writes zero bytes over {@code [from, to)} unless it already reads as zeros (or, with {@code
   * onlyHeld}, unless this layer holds no data there).
   */
  private void zeroBytesUnlessZero(long from, long to, boolean onlyHeld) throws IOException {
    if (from >= to) {
      return;
    }
    if (readsZero(from, to, onlyHeld)) {
      return;
    }
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(to - from, 1 << 20));
    for (long pos = from; pos < to; pos += zeros.capacity()) {
      zeros.clear().limit((int) Math.min(zeros.capacity(), to - pos));
      write(pos, zeros);
    }
  }

  private boolean readsZero(long from, long to, boolean unallocatedCounts) throws IOException {
    if (img.dataFileRaw()) {
      return false;
    }
    img.state.readLock().lock();
    try {
      long pos = from;
      while (pos < to) {
        long chunkEnd = Math.min(to, img.chunkEnd(pos));
        for (Segment s : map.segments(pos, chunkEnd - pos)) {
          boolean zero = s.kind() == Kind.ZERO || (s.kind() == Kind.UNALLOCATED
              && (unallocatedCounts || !img.namesBacking()));
          if (!zero) {
            return false;
          }
        }
        pos = chunkEnd;
      }
      return true;
    } finally {
      img.state.readLock().unlock();
    }
  }

  // ---------------------------------------------------------------- one L2 table's piece

  /** The entries of clusters {@code [first, first+n)} of one L2 table, and where they live. */
  private static final class Entries {
    long l1Index;
    String l1Problem;
    long[] entry;
    long[] bitmap;
  }

  private Entries entries(long first, int n) throws IOException {
    Entries out = new Entries();
    out.l1Index = layout.l1Index(first << layout.clusterBits);
    out.entry = new long[n];
    out.bitmap = new long[n];
    ReentrantLock lock = map.lock(out.l1Index);
    lock.lock();
    try {
      long l1e = map.l1Entry(out.l1Index);
      out.l1Problem = map.l1Problem(l1e);
      long l2 = l1e & Layout.OFFSET_MASK;
      if (out.l1Problem == null && l2 != 0) {
        byte[] t = map.table(l2);
        int idx0 = layout.l2Index(first << layout.clusterBits);
        for (int i = 0; i < n; i++) {
          out.entry[i] = map.entry(t, idx0 + i);
          out.bitmap[i] = map.bitmap(t, idx0 + i);
        }
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  private void chunk(Op op, long pos, long len, ByteBuffer src) throws IOException {
    long first = pos >>> layout.clusterBits;
    int n = (int) (((pos + len - 1) >>> layout.clusterBits) - first + 1);
    if (op == Op.DATA) {
      try (ClusterLocks.Held h = img.clusterLocks.lock(first, n, false)) {
        Entries e = entries(first, n);
        if (inPlace(e, first, pos, len)) {
          writeInPlace(e, first, pos, src);
          return;
        }
      }
    }
    try (ClusterLocks.Held h = img.clusterLocks.lock(first, n, true)) {
      Entries e = entries(first, n);
      if (e.l1Problem != null) {
        throw new CorruptImageException(img.location, "cannot write at virtual offset " + pos
            + ": " + e.l1Problem + " (run check -r all)");
      }
      new Plan(op, first, n, pos, len, src, e).run();
    }
  }

  /** Whether every touched cluster is allocated, owned alone and (subclusters) allocated. */
  private boolean inPlace(Entries e, long first, long pos, long len) {
    if (e.l1Problem != null || (map.l1Entry(e.l1Index) & Layout.COPIED) == 0) {
      return false;
    }
    for (int i = 0; i < e.entry.length; i++) {
      long en = e.entry[i];
      if ((en & (Layout.COMPRESSED | Layout.COPIED)) != Layout.COPIED) {
        return false;
      }
      long host = en & Layout.OFFSET_MASK;
      if (!img.externalData && (host == 0 || map.hostProblem(en, host) != null)) {
        return false;
      }
      if (!layout.extendedL2) {
        if ((en & Layout.ZERO) != 0) {
          return false;
        }
        continue;
      }
      long cStart = (first + i) << layout.clusterBits;
      long from = Math.max(pos, cStart) - cStart;
      long to = Math.min(pos + len, cStart + cs) - cStart;
      long mask = subclusterMask(from, to);
      if ((e.bitmap[i] & mask) != mask || (e.bitmap[i] & (mask << 32)) != 0) {
        return false;
      }
    }
    return true;
  }

  /** Alloc bits of the subclusters overlapping {@code [from, to)} of a cluster. */
  private long subclusterMask(long from, long to) {
    int s0 = (int) (from / layout.subclusterSize);
    int s1 = (int) ((to - 1) / layout.subclusterSize);
    return ((1L << (s1 + 1)) - 1) & ~((1L << s0) - 1);
  }

  private void writeInPlace(Entries e, long first, long pos, ByteBuffer src) throws IOException {
    long p = pos;
    long end = pos + src.remaining();
    while (p < end) {
      int i = (int) ((p >>> layout.clusterBits) - first);
      long host = (e.entry[i] & Layout.OFFSET_MASK) + layout.inCluster(p);
      long run = Math.min(end, layout.clusterStart(p) + cs) - p;
      // Extend over clusters that follow in the file.
      while (p + run < end) {
        int j = (int) (((p + run) >>> layout.clusterBits) - first);
        if ((e.entry[j] & Layout.OFFSET_MASK) != host + run) {
          break;
        }
        run += Math.min(cs, end - p - run);
      }
      ByteBuffer part = src.slice();
      part.limit((int) run);
      img.data.write(host, part);
      src.position(src.position() + (int) run);
      p += run;
    }
  }

  /** The exclusive path: what each cluster of a piece becomes, carried out in the safe order. */
  private final class Plan {
    final Op op;
    final long first;
    final int n;
    final long pos;
    final long len;
    final ByteBuffer src;
    final Entries old;
    final long[] entry;
    final long[] bitmap;
    final boolean[] changed;
    /** Host cluster offset data goes to, per cluster (-1: none, 0 with a data file is valid). */
    final long[] target;
    final boolean[] fresh;
    final List<long[]> frees = new ArrayList<>();
    final List<Long> compressedFrees = new ArrayList<>();
    /** Ranges a zero write must still write as bytes, after the entries are updated. */
    final List<long[]> zeroBytes = new ArrayList<>();

    Plan(Op op, long first, int n, long pos, long len, ByteBuffer src, Entries old) {
      this.op = op;
      this.first = first;
      this.n = n;
      this.pos = pos;
      this.len = len;
      this.src = src;
      this.old = old;
      this.entry = old.entry.clone();
      this.bitmap = old.bitmap.clone();
      this.changed = new boolean[n];
      this.target = new long[n];
      this.fresh = new boolean[n];
      java.util.Arrays.fill(target, -1);
    }

    long cStart(int i) {
      return (first + i) << layout.clusterBits;
    }

    long from(int i) {
      return Math.max(pos, cStart(i)) - cStart(i);
    }

    long to(int i) {
      return Math.min(pos + len, cStart(i) + cs) - cStart(i);
    }

    /** The cluster's bytes inside the virtual disk (less than a cluster only at the end). */
    long clusterBytes(int i) {
      return Math.min(cs, img.size() - cStart(i));
    }

    void run() throws IOException {
      for (int i = 0; i < n; i++) {
        String bad = problem(i);
        if (bad != null) {
          throw new CorruptImageException(img.location, "cannot write at virtual offset "
              + cStart(i) + ": " + bad + " (run check -r all)");
        }
      }
      if (op == Op.DATA) {
        data();
      } else {
        for (int i = 0; i < n; i++) {
          zeroOrDiscard(i);
        }
      }
      updateEntries();
      for (long[] f : frees) {
        img.allocator.free(f[0], f[1]);
      }
      for (long c : compressedFrees) {
        img.allocator.freeCompressed(c);
      }
      for (long[] z : zeroBytes) {
        // Still holding these clusters: the nested write locks them again (the locks reenter).
        ByteBuffer zeros = ByteBuffer.allocate((int) z[1]);
        write(z[0], zeros);
      }
    }

    private String problem(int i) {
      List<Segment> segs = new ArrayList<>();
      map.decode(cStart(i), old.entry[i], old.bitmap[i], cStart(i) + from(i), cStart(i) + to(i),
          segs);
      for (Segment s : segs) {
        if (s.kind() == Kind.BAD) {
          return s.problem();
        }
      }
      return null;
    }

    /** Schedules the release of what cluster {@code i}'s old entry owned, if it owned anything. */
    private void releaseOld(int i) {
      long e = old.entry[i];
      if ((e & Layout.COMPRESSED) != 0) {
        compressedFrees.add(e);
        return;
      }
      long host = e & Layout.OFFSET_MASK;
      if (host != 0 && !img.externalData) {
        frees.add(new long[] {host >>> layout.clusterBits, 1});
      }
    }

    // ------------------------------------------------------------ data

    private void data() throws IOException {
      int allocs = 0;
      byte[][] compressed = new byte[n][];
      int[] compressedLength = new int[n];
      for (int i = 0; i < n; i++) {
        long e = old.entry[i];
        long host = e & Layout.OFFSET_MASK;
        boolean compressedOld = (e & Layout.COMPRESSED) != 0;
        boolean owned = !compressedOld && (e & Layout.COPIED) != 0
            && (host != 0 || img.externalData) && !mixedSubclusters(i);
        boolean whole = from(i) == 0 && to(i) >= clusterBytes(i);
        if (owned) {
          target[i] = host; // in place, or a preallocated zero cluster / subclusters filled
        } else if (img.externalData) {
          target[i] = cStart(i);
          fresh[i] = true;
        } else {
          if (img.compressWrites && whole) {
            compressed[i] = compressCluster(i, compressedLength);
          }
          if (compressed[i] == null) {
            allocs++;
            fresh[i] = true;
          }
        }
      }
      List<Allocator.Run> runs = allocs > 0 ? img.allocator.allocate(allocs) : List.of();
      int r = 0;
      long next = -1;
      long left = 0;
      for (int i = 0; i < n; i++) {
        if (!fresh[i] || img.externalData) {
          continue;
        }
        if (left == 0) {
          next = runs.get(r).cluster();
          left = runs.get(r).count();
          r++;
        }
        target[i] = next << layout.clusterBits;
        next++;
        left--;
      }
      // Write the data: straight from the request for whole fresh clusters that follow each
      // other in the file, assembled with the old content otherwise.
      int i = 0;
      while (i < n) {
        if (compressed[i] != null) {
          writeCompressed(i, compressed[i], compressedLength[i]);
          i++;
          continue;
        }
        long[] range = hostRange(i);
        long from = from(i);
        long to = to(i);
        if (range[0] == from && range[1] == to) {
          int j = i + 1;
          long bytes = to - from;
          while (j < n && compressed[j] == null && from(j) == 0
              && target[j] == target[j - 1] + cs && hostRange(j)[0] == 0
              && hostRange(j)[1] == to(j) && to(j - 1) == cs) {
            bytes += to(j);
            j++;
          }
          ByteBuffer part = slice(cStart(i) + from, bytes);
          img.data.write(target[i] + from, part);
          for (int k = i; k < j; k++) {
            finishData(k);
          }
          i = j;
          continue;
        }
        byte[] buf = new byte[(int) (range[1] - range[0])];
        readCurrent(i, range[0], buf, from, to);
        slice(cStart(i) + from, to - from).get(buf, (int) (from - range[0]), (int) (to - from));
        img.data.write(target[i] + range[0], ByteBuffer.wrap(buf));
        finishData(i);
        i++;
      }
    }

    /**
     * Whether the write touches both allocated subclusters (visible at once if written in place)
     * and unallocated ones (visible only with the new bitmap): such a cluster is copied whole,
     * so that one entry write makes the request's bytes visible together.
     */
    private boolean mixedSubclusters(int i) {
      if (!layout.extendedL2) {
        return false;
      }
      long mask = subclusterMask(from(i), to(i));
      long alloc = old.bitmap[i] & mask;
      return alloc != 0 && alloc != mask;
    }

    /**
     * The part of cluster {@code i} to write at its target: the touched bytes when in place; the
     * touched subclusters when the target keeps the rest; the whole cluster otherwise.
     */
    private long[] hostRange(int i) {
      long from = from(i);
      long to = to(i);
      long e = old.entry[i];
      boolean sameHost = !fresh[i];
      if (!layout.extendedL2) {
        if (sameHost && (e & Layout.ZERO) == 0) {
          return new long[] {from, to};
        }
        return new long[] {0, cs};
      }
      boolean shared = (e & Layout.COMPRESSED) != 0
          || ((e & Layout.OFFSET_MASK) != 0 && (e & Layout.COPIED) == 0);
      if (shared) {
        return new long[] {0, cs};
      }
      long scs = layout.subclusterSize;
      long lo = from / scs * scs;
      long hi = Math.min(cs, (to + scs - 1) / scs * scs);
      long mask = subclusterMask(from, to);
      if (sameHost && (old.bitmap[i] & mask) == mask) {
        return new long[] {from, to};
      }
      if (fresh[i] && (e & Layout.OFFSET_MASK) != 0) {
        return new long[] {0, cs}; // a copy of a cluster some of whose subclusters were allocated
      }
      return new long[] {lo, hi};
    }

    /** Fills {@code buf} (cluster bytes from {@code at}) with the cluster's current content. */
    private void readCurrent(int i, long at, byte[] buf, long skipFrom, long skipTo)
        throws IOException {
      List<Segment> segs = new ArrayList<>();
      long c = cStart(i);
      long end = Math.min(c + at + buf.length, img.size());
      if (c + at < end) {
        map.decode(c, old.entry[i], old.bitmap[i], c + at, end, segs);
      }
      for (Segment s : segs) {
        if (s.offset() >= c + skipFrom && s.end() <= c + skipTo) {
          continue; // overwritten anyway
        }
        img.readSegment(s, ByteBuffer.wrap(buf, (int) (s.offset() - c - at), (int) s.length()));
      }
    }

    private ByteBuffer slice(long guest, long bytes) {
      ByteBuffer b = src.duplicate();
      b.position(src.position() + (int) (guest - pos));
      b.limit(b.position() + (int) bytes);
      return b.slice();
    }

    /** The new entry of a cluster whose data was written at its target. */
    private void finishData(int i) {
      long e = old.entry[i];
      if (!layout.extendedL2) {
        long ne = target[i] | Layout.COPIED;
        if (ne != e) {
          entry[i] = ne;
          changed[i] = true;
          if (fresh[i] && !img.externalData) {
            releaseOld(i);
          }
        }
        return;
      }
      long bm;
      if ((e & Layout.COMPRESSED) != 0) {
        bm = 0xffff_ffffL; // a compressed cluster has no bitmap: its copy holds every subcluster
      } else {
        // A whole-cluster copy (shared, or mixed subclusters) still leaves the subclusters the
        // write did not touch as they were: unallocated ones keep showing the backing.
        long mask = subclusterMask(from(i), to(i));
        bm = (old.bitmap[i] | mask) & ~(mask << 32);
      }
      long ne = target[i] | Layout.COPIED;
      if (ne != e || bm != old.bitmap[i]) {
        entry[i] = ne;
        bitmap[i] = bm;
        changed[i] = true;
        if (fresh[i] && !img.externalData) {
          releaseOld(i);
        }
      }
    }

    private byte[] compressCluster(int i, int[] lengths) {
      byte[] plain = new byte[(int) cs];
      slice(cStart(i), clusterBytes(i)).get(plain, 0, (int) clusterBytes(i));
      byte[] out = new byte[img.compression.bufferSize()];
      int len = img.compression.compress(plain, out);
      if (len < 0) {
        return null;
      }
      lengths[i] = len;
      return out;
    }

    private void writeCompressed(int i, byte[] data, int length) throws IOException {
      long at = img.allocator.allocateBytes(length);
      img.file.write(at, ByteBuffer.wrap(data, 0, length));
      entry[i] = layout.compressedEntry(at, length);
      bitmap[i] = 0;
      changed[i] = true;
      releaseOld(i);
    }

    // ------------------------------------------------------------ zero and discard

    /** Cluster {@code i}'s whole subclusters (or whole cluster) in the range become zero/free. */
    private void zeroOrDiscard(int i) throws IOException {
      long e = old.entry[i];
      long from = from(i);
      long to = to(i);
      boolean toZero = op == Op.ZERO || img.namesBacking();
      if (img.externalData) {
        if (!img.zeroFlag() || img.dataFileRaw()) {
          return; // the data stays; a zero write of it was done as zero bytes
        }
        if (!layout.extendedL2) {
          set(i, cStart(i) | Layout.COPIED | Layout.ZERO, 0);
        } else {
          long mask = subclusterMask(from, to);
          set(i, e, (old.bitmap[i] & ~mask) | (mask << 32));
        }
        return;
      }
      if (toZero && !img.zeroFlag()) {
        if (img.namesBacking()) {
          return; // v2 with a backing file: discard keeps the data (zero writes wrote bytes)
        }
        toZero = false; // v2 without one: unallocated clusters read as zeros
      }
      boolean wholeCluster = from == 0 && to >= clusterBytes(i);
      if (!layout.extendedL2 || (e & Layout.COMPRESSED) != 0 && wholeCluster) {
        if (!wholeCluster) {
          return;
        }
        long bm = layout.extendedL2 && toZero ? 0xffff_ffffL << 32 : 0;
        set(i, toZero && !layout.extendedL2 ? Layout.ZERO : 0, bm);
        releaseOld(i);
        return;
      }
      if ((e & Layout.COMPRESSED) != 0) {
        if (op == Op.ZERO) {
          zeroBytes.add(new long[] {cStart(i) + from, to - from}); // no subclusters to mark
        }
        return;
      }
      long mask = subclusterMask(from, to);
      long bm = (old.bitmap[i] & ~mask & ~(mask << 32)) | (toZero ? mask << 32 : 0);
      long host = e & Layout.OFFSET_MASK;
      if ((bm & 0xffff_ffffL) == 0 && host != 0) {
        set(i, 0, bm);
        releaseOld(i);
      } else {
        set(i, e, bm);
      }
    }

    private void set(int i, long e, long bm) {
      if (e != old.entry[i] || bm != old.bitmap[i]) {
        entry[i] = e;
        bitmap[i] = bm;
        changed[i] = true;
      }
    }

    // ------------------------------------------------------------ entries

    private void updateEntries() throws IOException {
      int lo = -1;
      int hi = -1;
      for (int i = 0; i < n; i++) {
        if (changed[i]) {
          lo = lo < 0 ? i : lo;
          hi = i;
        }
      }
      if (lo < 0) {
        return;
      }
      ReentrantLock lock = map.lock(old.l1Index);
      lock.lock();
      try {
        long l2 = map.writableTable(old.l1Index, img.allocator);
        int idx0 = layout.l2Index(cStart(lo));
        int count = hi - lo + 1;
        long[] es = new long[count];
        long[] bs = new long[count];
        System.arraycopy(entry, lo, es, 0, count);
        System.arraycopy(bitmap, lo, bs, 0, count);
        map.setEntries(l2, idx0, es, bs, count);
      } finally {
        lock.unlock();
      }
    }
  }

  // ---------------------------------------------------------------- header and metadata

  private void ensurePrepared() throws IOException {
    if (img.prepared) {
      return;
    }
    img.state.writeLock().lock();
    try {
      prepare();
    } finally {
      img.state.writeLock().unlock();
    }
  }

  /**
   * The first write's header changes, made once (the caller holds the image exclusively): refuse
   * a corrupt image, rebuild the refcounts of a dirty one, clear unknown autoclear bits, drop a
   * bitmaps extension a program without bitmap support left inconsistent, flag consistent bitmaps
   * in use, and set the dirty bit when lazy refcounts are on.
   */
  void prepare() throws IOException {
    if (img.prepared) {
      return;
    }
    Qcow2Header h = img.header;
    if (h.has(Features.CORRUPT)) {
      throw img.refusal("the image is marked corrupt (incompatible feature bit 1); check -r all "
          + "repairs it and clears the mark");
    }
    if (h.has(Features.DIRTY) && !img.lazyDirty) {
      img.allocator.releasePool();
      new Qcow2Check(img).run(io.blockkit.api.CheckMode.REPAIR_ALL);
    }
    if (img.bitmaps.markInUse(img.file) > 0) {
      img.bitmaps = Bitmaps.read(img.file, h, img.fileLength());
    }
    boolean lazy = (h.compatible & Features.LAZY_REFCOUNTS) != 0 && h.version >= 3
        && !h.has(Features.DIRTY);
    boolean dropBitmaps = h.bitmapsExtension != null && img.bitmaps.ignored() != null;
    if ((h.autoclear & ~Features.KNOWN_AUTOCLEAR) != 0 || dropBitmaps || lazy) {
      img.changeHeader(x -> {
        x.autoclear &= Features.KNOWN_AUTOCLEAR;
        if (dropBitmaps) {
          x.bitmapsExtension = null;
          x.autoclear &= ~Features.BITMAPS;
        }
        if (lazy) {
          x.incompatible |= Features.DIRTY;
        }
      });
      if (lazy) {
        img.lazyDirty = true;
        img.allocator.setLazy(true);
      }
    }
    img.prepared = true;
  }

  private void settleIfMany() throws IOException {
    if (img.allocator.manyPending()) {
      img.state.readLock().lock();
      try {
        flushMetadata();
      } finally {
        img.state.readLock().unlock();
      }
    }
  }

  /** Makes every write durable, then applies the frees that waited for it. */
  void flushMetadata() throws IOException {
    List<long[]> frees = img.allocator.takePending();
    img.file.flush();
    if (img.externalData) {
      img.data.flush();
    }
    img.allocator.applyFrees(frees);
  }

  /** At close: frees applied, the pool returned, lazy refcounts written and the dirty bit cleared. */
  void closeMetadata() throws IOException {
    flushMetadata();
    img.allocator.releasePool();
    img.refcounts.writeDirty();
    img.file.flush();
    if (img.lazyDirty) {
      img.changeHeader(x -> x.incompatible &= ~Features.DIRTY);
      img.lazyDirty = false;
    }
  }
}
