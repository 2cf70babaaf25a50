package io.blockkit.verify;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/** Allocation invariants of a cluster-based format, seen from outside through block status. */
public final class PhysicalBlocks {
  private PhysicalBlocks() {}

  /**
   * No two virtual clusters holding data share a host offset (nothing allocated twice), and every
   * one of them has a host offset.
   *
   * @return the number of clusters holding data
   */
  public static long assertDistinct(BlockDevice d, long clusterSize, String context)
      throws IOException {
    Map<Long, Long> owners = new HashMap<>();
    long size = d.size();
    for (long start = 0; start < size; start += clusterSize) {
      Extent e = d.blockStatus(start, Math.min(clusterSize, size - start));
      if (e.data()) {
        assertTrue(e.hasHostOffset(), context + ": block " + start / clusterSize
            + " has data but no host offset");
        Long other = owners.putIfAbsent(e.hostOffset(), start / clusterSize);
        if (other != null) {
          fail(context + ": blocks " + other + " and " + start / clusterSize
              + " share host offset " + e.hostOffset());
        }
      }
    }
    return owners.size();
  }

  /** The clusters whose first byte block status reports as data, in order. */
  public static TreeSet<Long> dataClusters(BlockDevice d, long clusterSize) throws IOException {
    TreeSet<Long> out = new TreeSet<>();
    long size = d.size();
    for (long start = 0; start < size; start += clusterSize) {
      if (d.blockStatus(start, Math.min(clusterSize, size - start)).data()) {
        out.add(start / clusterSize);
      }
    }
    return out;
  }
}
