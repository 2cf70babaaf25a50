package io.blockkit.qcow2;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A snapshot of the L2 entries (and subcluster bitmaps) of clusters {@code [first, first+n)} of
 * one L2 table, taken under that table's lock, with the L1 entry's problem if it cannot be
 * followed. All zeros when no L2 table is allocated. The caller holds the clusters' locks, so
 * the entries stay what they were read as until it releases them.
 */
final class Entries {
  final long l1Index;
  /** Why the L1 entry cannot be followed, or null. */
  final String l1Problem;
  final long[] entry;
  final long[] bitmap;

  private Entries(long l1Index, String l1Problem, long[] entry, long[] bitmap) {
    this.l1Index = l1Index;
    this.l1Problem = l1Problem;
    this.entry = entry;
    this.bitmap = bitmap;
  }

  /** Reads the entries of {@code n} clusters from cluster {@code first}, all in one L2 table. */
  static Entries read(ClusterMap map, Layout layout, long first, int n) throws IOException {
    long l1Index = layout.l1Index(first << layout.clusterBits);
    long[] entry = new long[n];
    long[] bitmap = new long[n];
    ReentrantLock lock = map.lock(l1Index);
    lock.lock();
    try {
      long l1e = map.l1Entry(l1Index);
      String l1Problem = map.l1Problem(l1e);
      long l2 = l1e & Layout.OFFSET_MASK;
      if (l1Problem == null && l2 != 0) {
        byte[] t = map.table(l2);
        int idx0 = layout.l2Index(first << layout.clusterBits);
        for (int i = 0; i < n; i++) {
          entry[i] = map.entry(t, idx0 + i);
          bitmap[i] = map.bitmap(t, idx0 + i);
        }
      }
      return new Entries(l1Index, l1Problem, entry, bitmap);
    } finally {
      lock.unlock();
    }
  }
}
