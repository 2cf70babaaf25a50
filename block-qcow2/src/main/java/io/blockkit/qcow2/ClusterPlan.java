package io.blockkit.qcow2;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.qcow2.Segment.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The exclusive write path for one piece inside one L2 table: what each cluster's entry becomes,
 * carried out in the crash-safe order. The caller holds the piece's cluster locks exclusively.
 *
 * <p>Its part of the crash model (see the package documentation): the clusters' data is written
 * first (by {@link DataPlan}, into clusters whose refcounts {@link Allocator} made durable), then
 * the changed entries in one write ({@link ClusterMap#writableTable} allocates or copies the L2
 * table and makes it durable before the L1 entry names it), and only then are the clusters the
 * old entries owned handed to the allocator, which frees them after the next flush. A zero write
 * over a compressed cluster's subclusters, which cannot be marked, is written as zero bytes last.
 */
final class ClusterPlan {
  /** What a piece does to its clusters. */
  enum Op { DATA, ZERO, DISCARD }

  final Qcow2Image img;
  final Layout layout;
  final Op op;
  final long first;
  final int n;
  final long pos;
  final long len;
  /** The piece's data (DATA only), positioned at {@link #pos}. */
  final ByteBuffer src;
  final Entries old;
  final long[] entry;
  final long[] bitmap;
  final boolean[] changed;
  private final List<long[]> frees = new ArrayList<>();
  private final List<Long> compressedFrees = new ArrayList<>();
  /** Ranges a zero write must still write as bytes, after the entries are updated. */
  final List<long[]> zeroBytes = new ArrayList<>();

  ClusterPlan(Qcow2Image img, Op op, long first, int n, long pos, long len, ByteBuffer src,
      Entries old) {
    this.img = img;
    this.layout = img.layout;
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
  }

  long cStart(int i) {
    return (first + i) << layout.clusterBits;
  }

  /** Where the piece starts inside cluster {@code i}. */
  long from(int i) {
    return Math.max(pos, cStart(i)) - cStart(i);
  }

  /** Where the piece ends inside cluster {@code i}. */
  long to(int i) {
    return Math.min(pos + len, cStart(i) + layout.clusterSize) - cStart(i);
  }

  /** The cluster's bytes inside the virtual disk (less than a cluster only at the end). */
  long clusterBytes(int i) {
    return Math.min(layout.clusterSize, img.size() - cStart(i));
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
      new DataPlan(this).run();
    } else {
      for (int i = 0; i < n; i++) {
        img.zeroes.planCluster(this, i);
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
      img.writer.write(z[0], zeros);
    }
  }

  private String problem(int i) {
    List<Segment> segs = new ArrayList<>();
    img.map.decode(cStart(i), old.entry[i], old.bitmap[i], cStart(i) + from(i),
        cStart(i) + to(i), segs);
    for (Segment s : segs) {
      if (s.kind() == Kind.BAD) {
        return s.problem();
      }
    }
    return null;
  }

  /** Schedules the release of what cluster {@code i}'s old entry owned, if it owned anything. */
  void releaseOld(int i) {
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

  /** Cluster {@code i}'s new entry and bitmap, if they differ from the old; whether they did. */
  boolean set(int i, long e, long bm) {
    if (e != old.entry[i] || bm != old.bitmap[i]) {
      change(i, e, bm);
      return true;
    }
    return false;
  }

  /** Cluster {@code i}'s new entry and bitmap. */
  void change(int i, long e, long bm) {
    entry[i] = e;
    bitmap[i] = bm;
    changed[i] = true;
  }

  /** Writes the changed entries, from the first to the last, in one write. */
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
    ReentrantLock lock = img.map.lock(old.l1Index);
    lock.lock();
    try {
      long l2 = img.map.writableTable(old.l1Index, img.allocator);
      int idx0 = layout.l2Index(cStart(lo));
      int count = hi - lo + 1;
      long[] es = new long[count];
      long[] bs = new long[count];
      System.arraycopy(entry, lo, es, 0, count);
      System.arraycopy(bitmap, lo, bs, 0, count);
      img.map.setEntries(l2, idx0, es, bs, count);
    } finally {
      lock.unlock();
    }
  }
}
