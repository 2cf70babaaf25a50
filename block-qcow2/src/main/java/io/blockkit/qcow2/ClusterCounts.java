package io.blockkit.qcow2;

import java.util.HashMap;
import java.util.Map;

/**
 * How many references check found to each host cluster: a sparse array of counters in pages of
 * 64 Ki clusters, allocated only where references exist, so memory follows the metadata, not the
 * file's length.
 */
final class ClusterCounts {
  private static final int PAGE_BITS = 16;
  private static final int PAGE = 1 << PAGE_BITS;

  private final Map<Long, int[]> pages = new HashMap<>();
  private long highest = -1;

  /** One more reference to {@code cluster}; returns the new count. */
  int add(long cluster) {
    int[] p = pages.computeIfAbsent(cluster >>> PAGE_BITS, k -> new int[PAGE]);
    int i = (int) (cluster & (PAGE - 1));
    if (p[i] < Integer.MAX_VALUE) {
      p[i]++;
    }
    highest = Math.max(highest, cluster);
    return p[i];
  }

  /** One reference less (not below 0). */
  void remove(long cluster) {
    int[] p = pages.get(cluster >>> PAGE_BITS);
    if (p != null && p[(int) (cluster & (PAGE - 1))] > 0) {
      p[(int) (cluster & (PAGE - 1))]--;
    }
  }

  int get(long cluster) {
    int[] p = pages.get(cluster >>> PAGE_BITS);
    return p == null ? 0 : p[(int) (cluster & (PAGE - 1))];
  }

  /** The highest cluster with a reference, or -1. */
  long highest() {
    return highest;
  }
}
