package io.blockkit.qcow2;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.qcow2.ClusterPlan.Op;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Data writes of an open image, and the dispatch every write (data, zero, discard) goes
 * through. Zero writes and discards start in {@link Zeroes}; the first write's header changes
 * and flushing are {@link WriteSession}'s.
 *
 * <p>A request is cut at L2 table boundaries. For each piece the clusters are locked shared when
 * every one of them can be written in place (allocated, owned by this layer alone, and every
 * touched subcluster allocated): the bytes go straight to their host clusters and no metadata
 * changes. Otherwise the clusters are locked exclusively and a {@link ClusterPlan} decides what
 * each becomes and carries it out in the crash-safe order.
 */
final class Writer {
  private final Qcow2Image img;
  private final Layout layout;
  private final long cs;

  Writer(Qcow2Image img) {
    this.img = img;
    this.layout = img.layout;
    this.cs = layout.clusterSize;
  }

  void write(long offset, ByteBuffer src) throws IOException {
    img.session.ensurePrepared();
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
    img.session.settleIfMany();
  }

  /**
   * One piece inside one L2 table: in place under shared cluster locks when it can be, else
   * planned under exclusive ones. {@code src} is the piece's data (null for zero and discard).
   */
  void chunk(Op op, long pos, long len, ByteBuffer src) throws IOException {
    long first = pos >>> layout.clusterBits;
    int n = (int) (((pos + len - 1) >>> layout.clusterBits) - first + 1);
    if (op == Op.DATA) {
      try (ClusterLocks.Held h = img.clusterLocks.lock(first, n, false)) {
        Entries e = Entries.read(img.map, layout, first, n);
        if (inPlace(e, first, pos, len)) {
          writeInPlace(e, first, pos, src);
          return;
        }
      }
    }
    try (ClusterLocks.Held h = img.clusterLocks.lock(first, n, true)) {
      Entries e = Entries.read(img.map, layout, first, n);
      if (e.l1Problem != null) {
        throw new CorruptImageException(img.location, "cannot write at virtual offset " + pos
            + ": " + e.l1Problem + " (run check -r all)");
      }
      new ClusterPlan(img, op, first, n, pos, len, src, e).run();
    }
  }

  /** Whether every touched cluster is allocated, owned alone and (subclusters) allocated. */
  private boolean inPlace(Entries e, long first, long pos, long len) {
    if (e.l1Problem != null || (img.map.l1Entry(e.l1Index) & Layout.COPIED) == 0) {
      return false;
    }
    for (int i = 0; i < e.entry.length; i++) {
      long en = e.entry[i];
      if ((en & (Layout.COMPRESSED | Layout.COPIED)) != Layout.COPIED) {
        return false;
      }
      long host = en & Layout.OFFSET_MASK;
      if (!img.externalData && (host == 0 || img.map.hostProblem(en, host) != null)) {
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
      long mask = layout.subclusterMask(from, to);
      if ((e.bitmap[i] & mask) != mask || (e.bitmap[i] & (mask << 32)) != 0) {
        return false;
      }
    }
    return true;
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
}
