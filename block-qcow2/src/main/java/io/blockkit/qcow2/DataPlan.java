package io.blockkit.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The data half of a {@link ClusterPlan} for a data write: where each cluster's bytes go (in
 * place, a fresh cluster, or a compressed one), the copy-on-write of what the write does not
 * cover (from the backing, a snapshot's shared cluster, a compressed cluster, or the allocated
 * subclusters of a cluster partly allocated), and the new entries.
 *
 * <p>Its part of the crash model: every byte is written before {@link ClusterPlan} writes the
 * entries that point to it, into clusters {@link Allocator} handed out with durable refcounts; a
 * cluster whose write mixes allocated and unallocated subclusters is copied whole to a fresh
 * cluster, so that one entry write makes the request's bytes visible together. Compressed
 * clusters go to bytes {@link Allocator#allocateBytes} reserves in a host cluster whose refcount
 * already covers them.
 */
final class DataPlan {
  private final ClusterPlan p;
  private final Qcow2Image img;
  private final Layout layout;
  private final long cs;
  private final int n;
  /** Host cluster offset data goes to, per cluster (-1: none, 0 with a data file is valid). */
  private final long[] target;
  /** Whether the cluster's data goes to a cluster other than the one its old entry names. */
  private final boolean[] fresh;

  DataPlan(ClusterPlan p) {
    this.p = p;
    this.img = p.img;
    this.layout = p.layout;
    this.cs = layout.clusterSize;
    this.n = p.n;
    this.target = new long[n];
    this.fresh = new boolean[n];
    Arrays.fill(target, -1);
  }

  void run() throws IOException {
    int allocs = 0;
    byte[][] compressed = new byte[n][];
    int[] compressedLength = new int[n];
    for (int i = 0; i < n; i++) {
      long e = p.old.entry[i];
      long host = e & Layout.OFFSET_MASK;
      boolean compressedOld = (e & Layout.COMPRESSED) != 0;
      boolean owned = !compressedOld && (e & Layout.COPIED) != 0
          && (host != 0 || img.externalData) && !mixedSubclusters(i);
      boolean whole = p.from(i) == 0 && p.to(i) >= p.clusterBytes(i);
      if (owned) {
        target[i] = host; // in place, or a preallocated zero cluster / subclusters filled
      } else if (img.externalData) {
        target[i] = p.cStart(i);
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
    assignFresh(allocs);
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
      long from = p.from(i);
      long to = p.to(i);
      if (range[0] == from && range[1] == to) {
        int j = i + 1;
        long bytes = to - from;
        while (j < n && compressed[j] == null && p.from(j) == 0
            && target[j] == target[j - 1] + cs && hostRange(j)[0] == 0
            && hostRange(j)[1] == p.to(j) && p.to(j - 1) == cs) {
          bytes += p.to(j);
          j++;
        }
        ByteBuffer part = slice(p.cStart(i) + from, bytes);
        img.data.write(target[i] + from, part);
        for (int k = i; k < j; k++) {
          finishData(k);
        }
        i = j;
        continue;
      }
      byte[] buf = new byte[(int) (range[1] - range[0])];
      readCurrent(i, range[0], buf, from, to);
      slice(p.cStart(i) + from, to - from).get(buf, (int) (from - range[0]), (int) (to - from));
      img.data.write(target[i] + range[0], ByteBuffer.wrap(buf));
      finishData(i);
      i++;
    }
  }

  /** Allocates {@code allocs} clusters and gives them, in order, to the fresh clusters. */
  private void assignFresh(int allocs) throws IOException {
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
    long mask = layout.subclusterMask(p.from(i), p.to(i));
    long alloc = p.old.bitmap[i] & mask;
    return alloc != 0 && alloc != mask;
  }

  /**
   * The part of cluster {@code i} to write at its target: the touched bytes when in place; the
   * touched subclusters when the target keeps the rest; the whole cluster otherwise.
   */
  private long[] hostRange(int i) {
    long from = p.from(i);
    long to = p.to(i);
    long e = p.old.entry[i];
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
    long mask = layout.subclusterMask(from, to);
    if (sameHost && (p.old.bitmap[i] & mask) == mask) {
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
    long c = p.cStart(i);
    long end = Math.min(c + at + buf.length, img.size());
    if (c + at < end) {
      img.map.decode(c, p.old.entry[i], p.old.bitmap[i], c + at, end, segs);
    }
    for (Segment s : segs) {
      if (s.offset() >= c + skipFrom && s.end() <= c + skipTo) {
        continue; // overwritten anyway
      }
      img.reader.read(s, ByteBuffer.wrap(buf, (int) (s.offset() - c - at), (int) s.length()));
    }
  }

  /** The request's bytes at virtual offset {@code guest}. */
  private ByteBuffer slice(long guest, long bytes) {
    ByteBuffer b = p.src.duplicate();
    b.position(p.src.position() + (int) (guest - p.pos));
    b.limit(b.position() + (int) bytes);
    return b.slice();
  }

  /** The new entry of a cluster whose data was written at its target. */
  private void finishData(int i) {
    long e = p.old.entry[i];
    long ne = target[i] | Layout.COPIED;
    long bm;
    if (!layout.extendedL2) {
      bm = p.old.bitmap[i];
    } else if ((e & Layout.COMPRESSED) != 0) {
      bm = 0xffff_ffffL; // a compressed cluster has no bitmap: its copy holds every subcluster
    } else {
      // A whole-cluster copy (shared, or mixed subclusters) still leaves the subclusters the
      // write did not touch as they were: unallocated ones keep showing the backing.
      long mask = layout.subclusterMask(p.from(i), p.to(i));
      bm = (p.old.bitmap[i] | mask) & ~(mask << 32);
    }
    if (p.set(i, ne, bm) && fresh[i] && !img.externalData) {
      p.releaseOld(i);
    }
  }

  /** Cluster {@code i} compressed into a new buffer ({@code lengths[i]} bytes), or null. */
  private byte[] compressCluster(int i, int[] lengths) {
    byte[] plain = new byte[(int) cs];
    slice(p.cStart(i), p.clusterBytes(i)).get(plain, 0, (int) p.clusterBytes(i));
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
    p.change(i, layout.compressedEntry(at, length), 0);
    p.releaseOld(i);
  }
}
