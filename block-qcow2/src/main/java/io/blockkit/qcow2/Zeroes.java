package io.blockkit.qcow2;

import io.blockkit.qcow2.ClusterPlan.Op;
import io.blockkit.qcow2.Segment.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Zero writes and discards. Within each cluster the request's range changes either metadata
 * only (it covers whole subclusters, or whole clusters, and the image can say "zero" (v3) or
 * unallocated clusters read zeros) or the bytes (written as zeros through {@link Writer}); never
 * both, so that a crash leaves each cluster with its old or its new contents. A discard writes
 * zeros only where this layer holds data (a range that reads the backing keeps reading it).
 *
 * <p>The metadata-only part goes through {@link ClusterPlan} like a data write, which keeps the
 * crash order: the new entries are written first, and the clusters they stop pointing to are
 * freed only after the next flush.
 */
final class Zeroes {
  private final Qcow2Image img;
  private final Layout layout;
  private final long cs;

  Zeroes(Qcow2Image img) {
    this.img = img;
    this.layout = img.layout;
    this.cs = layout.clusterSize;
  }

  /** Zeroes (or, with {@code discard}, discards) {@code [offset, offset+length)}. */
  void zero(long offset, long length, boolean discard) throws IOException {
    img.session.ensurePrepared();
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
    img.session.settleIfMany();
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
        img.writer.chunk(discard ? Op.DISCARD : Op.ZERO, pos, chunkEnd - pos, null);
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
      img.writer.write(pos, zeros);
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
        for (Segment s : img.map.segments(pos, chunkEnd - pos)) {
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

  /**
   * Plans cluster {@code i} of a zero or discard piece: its whole subclusters (or the whole
   * cluster) in the range become zero or unallocated, and what the old entry owned is released
   * when nothing of it stays in use.
   */
  void planCluster(ClusterPlan p, int i) {
    long e = p.old.entry[i];
    long from = p.from(i);
    long to = p.to(i);
    boolean toZero = p.op == Op.ZERO || img.namesBacking();
    if (img.externalData) {
      if (!img.zeroFlag() || img.dataFileRaw()) {
        return; // the data stays; a zero write of it was done as zero bytes
      }
      if (!layout.extendedL2) {
        p.set(i, p.cStart(i) | Layout.COPIED | Layout.ZERO, 0);
      } else {
        long mask = layout.subclusterMask(from, to);
        p.set(i, e, (p.old.bitmap[i] & ~mask) | (mask << 32));
      }
      return;
    }
    if (toZero && !img.zeroFlag()) {
      if (img.namesBacking()) {
        return; // v2 with a backing file: discard keeps the data (zero writes wrote bytes)
      }
      toZero = false; // v2 without one: unallocated clusters read as zeros
    }
    boolean wholeCluster = from == 0 && to >= p.clusterBytes(i);
    if (!layout.extendedL2 || (e & Layout.COMPRESSED) != 0 && wholeCluster) {
      if (!wholeCluster) {
        return;
      }
      long bm = layout.extendedL2 && toZero ? 0xffff_ffffL << 32 : 0;
      p.set(i, toZero && !layout.extendedL2 ? Layout.ZERO : 0, bm);
      p.releaseOld(i);
      return;
    }
    if ((e & Layout.COMPRESSED) != 0) {
      if (p.op == Op.ZERO) {
        p.zeroBytes.add(new long[] {p.cStart(i) + from, to - from}); // no subclusters to mark
      }
      return;
    }
    long mask = layout.subclusterMask(from, to);
    long bm = (p.old.bitmap[i] & ~mask & ~(mask << 32)) | (toZero ? mask << 32 : 0);
    long host = e & Layout.OFFSET_MASK;
    if ((bm & 0xffff_ffffL) == 0 && host != 0) {
      p.set(i, 0, bm);
      p.releaseOld(i);
    } else {
      p.set(i, e, bm);
    }
  }
}
