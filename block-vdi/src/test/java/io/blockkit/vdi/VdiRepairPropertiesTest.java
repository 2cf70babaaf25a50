package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Repair over randomly damaged images: random maps (FREE, ZERO, in range, out of range, shared
 * blocks), wrong counts, leaked and missing blocks, files cut anywhere, every header version,
 * image type and an extra area. Whatever the damage, every byte a salvaging reader got before a
 * repair (leaks only, or all) reads the same after it; a repair of all leaves a clean image that
 * reads everywhere.
 */
class VdiRepairPropertiesTest {

  /** The damage: how the builder's fields are set. */
  record Damage(int version, int type, int blockSize, int extraBlocks, int sizeCut,
      List<Integer> entries, int physicalBlocks, int blocksAllocated, int cutPercent,
      boolean extra, boolean tinyMapCache) {

    VdiBytes image() {
      int n = entries.size();
      int blocks = n + extraBlocks;
      long diskSize = (long) n * blockSize - Math.min(sizeCut, blockSize - 512);
      VdiBytes v = VdiBytes.dynamic(diskSize, blockSize);
      v.blocks = blocks;
      v.map = new int[blocks];
      boolean differencing = type == 4;
      for (int b = 0; b < blocks; b++) {
        int e = b < n ? entries.get(b) : -1;
        // A differencing image with a FREE entry is refused on open: ZERO there.
        v.map[b] = differencing && e == -1 ? -2 : e;
      }
      v.type = differencing ? 1 : type;
      if (differencing) {
        v.linkage = UUID.fromString("3e3e3e20-000a-0000-0000-000000000000");
      }
      v.version = version == 0 ? 0x00000002 : 0x00010001;
      v.headerSize = version == 384 ? 384 : 400;
      v.blockExtra = extra && version != 0 ? 512 : 0;
      v.physicalBlocks = physicalBlocks;
      v.blocksAllocated = Math.min(blocksAllocated, blocks);
      long dataOffset = version == 0 ? 420 + 4L * blocks : v.effectiveDataOffset();
      long full = dataOffset + (long) physicalBlocks * (v.blockExtra + blockSize);
      if (cutPercent < 100) {
        v.truncateTo = dataOffset + (full - dataOffset) * cutPercent / 100;
      }
      return v;
    }
  }

  @Provide
  Arbitrary<Damage> damages() {
    Arbitrary<Integer> entry = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, Arbitraries.just(-1)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(-2)),
        net.jqwik.api.Tuple.of(8, Arbitraries.integers().between(0, 9)),
        net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(10, 20)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(0x7fffffff)));
    List<Arbitrary<Object>> fields = List.of(
        any(Arbitraries.of(0, 384, 400)),
        any(Arbitraries.of(1, 2, 3, 4)),
        any(Arbitraries.of(512, 1024)),
        any(Arbitraries.integers().between(0, 2)),
        any(Arbitraries.of(0, 0, 512)),
        any(entry.list().ofMinSize(1).ofMaxSize(10)),
        any(Arbitraries.integers().between(0, 12)),
        any(Arbitraries.integers().between(0, 12)),
        any(Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.just(100)),
            net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, 99)))),
        any(Arbitraries.of(false, false, true)),
        any(Arbitraries.of(false, true)));
    return Combinators.combine(fields).as(a -> new Damage((int) a.get(0), (int) a.get(1),
        (int) a.get(2), (int) a.get(3), (int) a.get(4), cast(a.get(5)), (int) a.get(6),
        (int) a.get(7), (int) a.get(8), (boolean) a.get(9), (boolean) a.get(10)));
  }

  private static Arbitrary<Object> any(Arbitrary<?> a) {
    return a.map(x -> (Object) x);
  }

  @SuppressWarnings("unchecked")
  private static List<Integer> cast(Object o) {
    return (List<Integer>) o;
  }

  @Property(tries = 400)
  void repairKeepsEveryByteThatRead(@ForAll("damages") Damage d) throws Exception {
    VdiDriver driver = d.tinyMapCache() ? TestSupport.TINY_MAP_CACHE : TestSupport.DRIVER;
    byte[] image = d.image().build();
    TestSupport.Salvaged before;
    CheckReport found;
    int size;
    try (VdiImage img = TestSupport.open(driver, new MemDevice(image), true)) {
      size = (int) img.size();
      before = TestSupport.salvage(img, 0, size);
      found = img.check(CheckMode.REPORT);
    }
    if (before.readableCount() < size) {
      assertTrue(found.corruptions() > 0, "reads fail but check finds nothing: " + d);
    }
    for (CheckMode mode : new CheckMode[] {CheckMode.REPAIR_LEAKS, CheckMode.REPAIR_ALL}) {
      MemDevice file = new MemDevice(image);
      try (VdiImage img = TestSupport.open(driver, file, false)) {
        CheckReport r = img.check(mode);
        if (mode == CheckMode.REPAIR_ALL) {
          assertTrue(r.isClean(), mode + " of " + d + ": " + r.messages());
        }
        assertEquals(found.corruptions(), r.corruptions() + r.corruptionsFixed(), mode + " of "
            + d + ": " + r.messages());
        before.assertKeptIn(TestSupport.salvage(img, 0, size), mode + " of " + d
            + " (the repairing session)");
      }
      try (VdiImage img = TestSupport.open(driver, new MemDevice(file.bytes()), true)) {
        TestSupport.Salvaged after = TestSupport.salvage(img, 0, size);
        before.assertKeptIn(after, mode + " of " + d + " (reopened): " + Arrays.toString(
            img.check(CheckMode.REPORT).messages().toArray()));
        if (mode == CheckMode.REPAIR_ALL) {
          CheckReport again = img.check(CheckMode.REPORT);
          assertTrue(again.isClean(), d + " after reopening: " + again.messages());
          assertEquals(size, after.readableCount(), d + ": everything reads after repair");
        }
      }
    }
  }
}
