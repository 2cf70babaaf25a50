package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Repair keeps every byte that read before it: blocks cut short by the end of the file are padded
 * with zeros, physical blocks shared by two entries are copied so that both keep their data.
 */
class VdiRepairTest {
  private static final int MB = 1 << 20;

  /** Repairs {@code file} with {@code mode} and returns the report; the image must end clean. */
  private static CheckReport repair(MemDevice file, CheckMode mode) throws Exception {
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport r = img.check(mode);
      assertTrue(r.isClean(), r.messages().toString());
      return r;
    }
  }

  private static TestSupport.Salvaged salvageAll(MemDevice file) throws Exception {
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      return TestSupport.salvage(img, 0, (int) img.size());
    }
  }

  private static void assertCleanAndReadable(MemDevice file) throws Exception {
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
      TestSupport.read(img, 0, (int) img.size());
    }
  }

  private static boolean mentions(CheckReport r, String... words) {
    return r.messages().stream().anyMatch(m -> Arrays.stream(words).allMatch(m::contains));
  }

  /** The case: two 1 MiB blocks written, then {@code truncate -s -512K}. */
  @Test
  void aBlockCutShortIsPaddedWithZerosNotDropped() throws Exception {
    MemDevice created = TestSupport.create(Map.of("size", "64M"));
    byte[] first = VdiBytes.pattern(1, MB);
    byte[] second = VdiBytes.pattern(2, MB);
    long dataOffset;
    try (VdiImage img = TestSupport.open(created, false)) {
      TestSupport.write(img, 0, first);
      TestSupport.write(img, MB, second);
      dataOffset = img.header.dataOffset;
    }
    MemDevice file = new MemDevice(Arrays.copyOf(created.bytes(),
        (int) created.size() - 512 * 1024));
    TestSupport.Salvaged before = salvageAll(file);
    assertEquals(64 * MB - 512 * 1024, before.readableCount(), "what a salvaging reader gets");

    CheckReport r = repair(file, CheckMode.REPAIR_ALL);
    assertEquals(1, r.corruptionsFixed());
    assertTrue(mentions(r, "block 1", "physical block 1", "padded with zeros"),
        r.messages().toString());

    assertEquals(dataOffset + 2L * MB, file.size());
    assertCleanAndReadable(file);
    TestSupport.Salvaged after = salvageAll(file);
    before.assertKeptIn(after, "after repair");
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertArrayEquals(first, TestSupport.read(img, 0, MB));
      byte[] expected = Arrays.copyOf(second, MB);
      Arrays.fill(expected, 512 * 1024, MB, (byte) 0);
      assertArrayEquals(expected, TestSupport.read(img, MB, MB));
      assertEquals(2L, img.info().formatSpecific().get("blocks-allocated"));
    }
  }

  /** A partial block stays whatever the repair: leaks-only repair does not cut it either. */
  @Test
  void leaksOnlyRepairKeepsABlockCutShort() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(1, 1).allocate(3, 2);
    v.physicalBlocks = 5;
    v.truncateTo = v.effectiveDataOffset() + 2L * MB + 1000;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport r = img.check(CheckMode.REPAIR_LEAKS);
      assertEquals(1, r.corruptions(), r.messages().toString());
    }
    before.assertKeptIn(salvageAll(file), "after repairing leaks");
  }

  @Test
  void aSharedBlockIsCopiedSoBothEntriesKeepTheirData() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(1, 1).allocate(3, 2);
    v.map[4] = 1;
    v.map[5] = 1;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);

    CheckReport r = repair(file, CheckMode.REPAIR_ALL);
    assertEquals(2, r.corruptionsFixed());
    assertTrue(mentions(r, "block 4", "copy of physical block 1"), r.messages().toString());

    assertCleanAndReadable(file);
    before.assertKeptIn(salvageAll(file), "after repair");
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      for (int b : new int[] {1, 4, 5}) {
        assertArrayEquals(VdiBytes.pattern(1, MB), TestSupport.read(img, (long) b * MB, MB),
            "block " + b);
      }
      assertEquals(5L, img.info().formatSpecific().get("blocks-allocated"));
      assertEquals(v.effectiveDataOffset() + 5L * MB, file.size());
    }
  }

  /** The copy goes into a physical block nobody uses, overwriting only leaked space. */
  @Test
  void copiesFillUnusedPhysicalBlocksFirst() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(3, 2);
    v.map[4] = 2;
    v.physicalBlocks = 3;
    MemDevice file = new MemDevice(v.build());
    repair(file, CheckMode.REPAIR_ALL);
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals(1, img.map.get(4), "the copy went into the hole at physical block 1");
      assertArrayEquals(VdiBytes.pattern(2, MB), TestSupport.read(img, 4L * MB, MB));
      assertEquals(v.effectiveDataOffset() + 3L * MB, file.size());
    }
  }

  @Test
  void aSharedBlockCutShortIsPaddedAndCopied() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(1, 1).allocate(3, 2);
    v.map[5] = 2;
    v.truncateTo = v.effectiveDataOffset() + 2L * MB + 4096;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);
    repair(file, CheckMode.REPAIR_ALL);
    assertCleanAndReadable(file);
    TestSupport.Salvaged after = salvageAll(file);
    before.assertKeptIn(after, "after repair");
    byte[] kept = Arrays.copyOf(VdiBytes.pattern(2, MB), MB);
    Arrays.fill(kept, 4096, MB, (byte) 0);
    assertArrayEquals(kept, Arrays.copyOfRange(after.bytes(), 3 * MB, 4 * MB));
    assertArrayEquals(kept, Arrays.copyOfRange(after.bytes(), 5 * MB, 6 * MB));
  }

  /** Blocks wholly past the end hold nothing readable: they alone may go. */
  @Test
  void onlyBlocksWhollyPastTheEndAreDropped() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(1, 3).allocate(2, 1).allocate(4, 2);
    v.truncateTo = v.effectiveDataOffset() + MB + 100;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);
    CheckReport r = repair(file, CheckMode.REPAIR_ALL);
    assertEquals(3, r.corruptionsFixed(), r.messages().toString());
    assertTrue(mentions(r, "2 block map entries", "nothing readable", "FREE"),
        r.messages().toString());
    before.assertKeptIn(salvageAll(file), "after repair");
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals(BlockMap.FREE, img.map.get(1));
      assertEquals(BlockMap.FREE, img.map.get(4));
      assertEquals(2L, img.info().formatSpecific().get("blocks-allocated"));
    }
  }

  /** Like the corpus image: a fixed image cut inside its first block. */
  @Test
  void aTruncatedFixedImageKeepsItsFirstBlock() throws Exception {
    VdiBytes v = VdiBytes.dynamic(8L * MB, MB);
    v.type = VdiHeader.TYPE_FIXED;
    for (int b = 0; b < 8; b++) {
      v.allocate(b, b);
    }
    v.truncateTo = v.effectiveDataOffset() + 12_820;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);
    assertEquals(12_820, before.readableCount());
    repair(file, CheckMode.REPAIR_ALL);
    assertCleanAndReadable(file);
    before.assertKeptIn(salvageAll(file), "after repair");
    assertEquals(v.effectiveDataOffset() + MB, file.size());
  }

  /** In a differencing image the entries that go become ZERO (FREE would read the parent). */
  @Test
  void aDifferencingImageKeepsSharedDataAndZeroesWhatIsGone() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(1, 1).allocate(3, 2).allocate(5, 3);
    v.map[2] = 0xfffffffe;
    v.map[4] = 0;
    v.linkage = UUID.fromString("3e3e3e20-000a-0000-0000-000000000000");
    v.truncateTo = v.effectiveDataOffset() + 2L * MB + 512;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);
    repair(file, CheckMode.REPAIR_ALL);
    assertCleanAndReadable(file);
    before.assertKeptIn(salvageAll(file), "after repair");
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals(BlockMap.ZERO, img.map.get(5));
      assertArrayEquals(VdiBytes.pattern(0, MB), TestSupport.read(img, 4L * MB, MB));
    }
  }

  /** The extra area before each block's data travels with the copy. */
  @Test
  void aCopyTakesTheBlocksExtraAreaAlong() throws Exception {
    VdiBytes v = VdiBytes.dynamic(4L * 4096, 4096);
    v.blockExtra = 512;
    v.allocate(0, 0).allocate(1, 1);
    v.map[2] = 0;
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before = salvageAll(file);
    repair(file, CheckMode.REPAIR_ALL);
    before.assertKeptIn(salvageAll(file), "after repair");
    byte[] bytes = file.bytes();
    long third = v.effectiveDataOffset() + 2L * (4096 + 512);
    assertEquals(third + 4096 + 512, bytes.length);
    for (int k = 0; k < 512; k++) {
      assertEquals((byte) 0xee, bytes[(int) third + k], "extra byte " + k);
    }
  }
}
