package io.blockkit.vdi;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

/**
 * Run in a JVM with a small heap ({@code -Xmx256m}) by {@link LargestMapTest}: creates the largest
 * image QEMU allows (536870784 one-MiB blocks, a 2 GiB block map) over a {@link SparseDevice} and
 * reads, writes, checks and repairs it. Exits 0 and prints {@code OK} when every step behaved;
 * an OutOfMemoryError or a wrong answer exits non-zero. With {@code full} it also discards
 * (compaction) and repairs a shared block.
 */
public final class LargestMapMain {
  private static final long MB = 1 << 20;

  private LargestMapMain() {}

  public static void main(String[] args) throws Exception {
    boolean full = args.length > 0 && args[0].equals("full");
    long blocks = VdiHeader.MAX_BLOCKS;
    long size = VdiHeader.MAX_DISK_SIZE;
    SparseDevice file = new SparseDevice(VdiCreator.CREATE_MAP_OFFSET,
        VdiCreator.CREATE_MAP_OFFSET + 4 * blocks);
    VdiDriver driver = new VdiDriver();
    long t0 = System.nanoTime();
    driver.create(new CreateRequest("largest.vdi", file, Options.of(Map.of("size",
        Long.toString(size)), driver.createOptions())));
    step("create", t0);

    try (VdiImage ro = (VdiImage) driver.open(OpenRequest.of("largest.vdi", file.reopen(), true))) {
      t0 = System.nanoTime();
      expect(ro.size() == size, "virtual size " + ro.size());
      expect(ro.info().formatSpecific().get("blocks").equals(blocks), "blocks in info");
      Extent all = ro.blockStatus(0, size);
      expect(all.zero() && !all.data() && all.length() == size, "one zero extent: " + all);
      expect(Arrays.equals(read(ro, size - MB, (int) MB), new byte[(int) MB]), "last block");
      CheckReport r = ro.check(CheckMode.REPORT);
      expect(r.isClean() && r.totalClusters() == blocks, "check: " + r);
      step("read-only open, status of the whole disk, check", t0);
    }

    byte[] a = pattern(1);
    byte[] b = pattern(2);
    byte[] c = pattern(3);
    long middle = (blocks / 2) * MB;
    try (VdiImage rw = (VdiImage) driver.open(OpenRequest.of("largest.vdi", file.reopen(), false))) {
      t0 = System.nanoTime();
      rw.write(0, ByteBuffer.wrap(a));
      rw.write(middle, ByteBuffer.wrap(b));
      rw.write(size - MB, ByteBuffer.wrap(c));
      expect(Arrays.equals(read(rw, size - MB, (int) MB), c), "last block written");
      expect(rw.nextFreeBlock() == 3, "3 blocks allocated, not " + rw.nextFreeBlock());
      step("writable open, 3 writes", t0);
      if (full) {
        t0 = System.nanoTime();
        CheckReport r = rw.check(CheckMode.REPORT);
        expect(r.isClean() && r.allocatedClusters() == 3, "check after writes: " + r);
        step("check", t0);
        t0 = System.nanoTime();
        rw.discard(middle, MB);
        expect(rw.nextFreeBlock() == 2, "compaction left " + rw.nextFreeBlock() + " blocks");
        expect(Arrays.equals(read(rw, size - MB, (int) MB), c), "moved block reads back");
        expect(rw.check(CheckMode.REPORT).isClean(), "check after discard");
        step("discard with compaction, check", t0);
      }
    }

    if (full) {
      // Virtual block 5 now also claims physical block 0 (block 0's).
      ByteBuffer entry = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0);
      file.write(VdiCreator.CREATE_MAP_OFFSET + 4 * 5, entry);
      try (VdiImage rw = (VdiImage) driver.open(OpenRequest.of("largest.vdi", file.reopen(), false))) {
        t0 = System.nanoTime();
        CheckReport r = rw.check(CheckMode.REPORT);
        expect(r.corruptions() == 1, "shared block found: " + r.messages());
        r = rw.check(CheckMode.REPAIR_ALL);
        expect(r.isClean() && r.corruptionsFixed() == 1, "repaired: " + r.messages());
        expect(Arrays.equals(read(rw, 0, (int) MB), a), "block 0 keeps its data");
        expect(Arrays.equals(read(rw, 5 * MB, (int) MB), a), "block 5 keeps a copy");
        step("check, repair", t0);
      }
    }
    Runtime rt = Runtime.getRuntime();
    System.out.println("OK stored chunks: " + file.storedChunks() + ", heap used: "
        + ((rt.totalMemory() - rt.freeMemory()) >> 20) + " MiB of " + (rt.maxMemory() >> 20));
  }

  private static void step(String what, long t0) {
    System.out.println(what + ": " + (System.nanoTime() - t0) / 1_000_000 + " ms");
  }

  private static void expect(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("unexpected: " + what);
    }
  }

  private static byte[] read(VdiImage img, long offset, int n) throws Exception {
    ByteBuffer buf = ByteBuffer.allocate(n);
    img.read(offset, buf);
    return buf.array();
  }

  private static byte[] pattern(int seed) {
    byte[] p = new byte[(int) MB];
    for (int i = 0; i < p.length; i++) {
      p[i] = (byte) (seed * 31 + i * 7 + 1);
    }
    return p;
  }
}
