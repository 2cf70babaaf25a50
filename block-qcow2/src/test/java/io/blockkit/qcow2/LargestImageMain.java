package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * Run in a JVM with a 64 MiB heap by {@link LargestImageTest}: creates a 16 TiB qcow2 image at
 * the path given, then opens it read-only (status of the whole disk, the last cluster, check) and
 * read-write (writes at the start, the middle and the end, reads them back, discards, checks).
 * Exits 0 and prints {@code OK} when every step behaved; an OutOfMemoryError exits non-zero.
 */
public final class LargestImageMain {
  private static final long TIB = 1L << 40;
  private static final int CLUSTER = 64 << 10;

  private LargestImageMain() {}

  public static void main(String[] args) throws Exception {
    String path = args[0];
    long size = 16 * TIB;
    BlockRegistry registry = BlockRegistry.load();
    registry.create(path, "qcow2", Map.of("size", Long.toString(size)));
    OpenParams ro = OpenParams.defaults().withFormat("qcow2").withReadOnly(true)
        .withWarnings(w -> { });
    try (BlockDevice d = registry.open(path, ro)) {
      expect(d.size() == size, "size " + d.size());
      Extent all = d.blockStatus(0, size);
      expect(!all.data() && all.length() == size, "one unallocated extent: " + all);
      expect(Arrays.equals(read(d, size - CLUSTER, CLUSTER), new byte[CLUSTER]), "last cluster");
      CheckReport r = d.check(CheckMode.REPORT);
      expect(r.isClean() && r.totalClusters() == size / CLUSTER, "check: " + r);
    }
    byte[] a = pattern(1);
    long[] at = {0, size / 2 + 12345, size - CLUSTER};
    try (BlockDevice d = registry.open(path, ro.withReadOnly(false))) {
      for (long off : at) {
        d.write(off, ByteBuffer.wrap(a));
      }
      for (long off : at) {
        expect(Arrays.equals(read(d, off, CLUSTER), a), "written at " + off);
      }
      d.discard(size / 2, 4L * CLUSTER);
      expect(Arrays.equals(read(d, size / 2 + 12345, 100), new byte[100]), "discarded");
      CheckReport r = d.check(CheckMode.REPORT);
      expect(r.isClean(), "check after writes: " + r);
    }
    try (BlockDevice d = registry.open(path, ro)) {
      expect(Arrays.equals(read(d, size - CLUSTER, CLUSTER), a), "last cluster after reopen");
      expect(d.check(CheckMode.REPORT).isClean(), "check after reopen");
    }
    Runtime rt = Runtime.getRuntime();
    System.out.println("OK heap used: " + ((rt.totalMemory() - rt.freeMemory()) >> 20)
        + " MiB of " + (rt.maxMemory() >> 20));
  }

  private static void expect(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("unexpected: " + what);
    }
  }

  private static byte[] read(BlockDevice d, long offset, int n) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }

  private static byte[] pattern(int seed) {
    byte[] p = new byte[CLUSTER];
    for (int i = 0; i < p.length; i++) {
      p[i] = (byte) (seed * 31 + i * 7 + 1);
    }
    return p;
  }
}
