package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.ReadOnlyException;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Check findings and repairs on hand-made inconsistent images. */
class VdiCheckTest {
  private static final int MB = 1 << 20;

  /**
   * A 6-block image: virtual 0 -> physical 0, 1 -> 1, 3 -> 2; the case then breaks it.
   *
   * @param name the case
   * @param change how the image is broken
   * @param corruptions corruptions reported before repair
   * @param leaks leaks reported before repair
   * @param words one message must contain each of these
   * @param mode the repair that must make the image clean
   * @param lost virtual blocks whose data repair gives up (they read zeros afterwards)
   */
  static Arguments broken(String name, Consumer<VdiBytes> change, long corruptions, long leaks,
      String[] words, CheckMode mode, int... lost) {
    return Arguments.of(name, change, corruptions, leaks, words, mode, lost);
  }

  private static VdiBytes healthy() {
    VdiBytes v = VdiBytes.dynamic(6L * MB, MB);
    v.allocate(0, 0).allocate(1, 1).allocate(3, 2);
    return v;
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        broken("duplicate entry", v -> v.map[4] = 1, 1, 0,
            new String[] {"block 4", "physical block 1 is also used by block 1"},
            CheckMode.REPAIR_ALL, 4),
        broken("entry out of range", v -> v.map[5] = 6, 1, 0,
            new String[] {"block 5", "is 6, out of range", "below blocks_in_image, 6"},
            CheckMode.REPAIR_ALL, 5),
        broken("huge entry", v -> v.map[5] = 0x7fffffff, 1, 0,
            new String[] {"block 5", "2147483647"}, CheckMode.REPAIR_ALL, 5),
        broken("data past the end of the file", v -> v.truncateTo = v.effectiveDataOffset()
            + 2L * MB + 1000, 1, 0,
            new String[] {"block 3", "physical block 2", "past the end of the file"},
            CheckMode.REPAIR_ALL, 3),
        broken("blocks_allocated too small", v -> v.blocksAllocated = 1, 1, 0,
            new String[] {"blocks_allocated is 1", "physical block 2"}, CheckMode.REPAIR_ALL),
        broken("blocks_allocated too large", v -> v.blocksAllocated = 5, 0, 2,
            new String[] {"blocks_allocated is 5 but only 3"}, CheckMode.REPAIR_LEAKS),
        broken("leaked block at the end", v -> {
          v.physicalBlocks = 4;
          v.blocksAllocated = 4;
        }, 0, 1, new String[] {"1 block(s) of space after the last block in use"},
            CheckMode.REPAIR_LEAKS),
        broken("unreferenced block inside", v -> v.map[1] = 0xfffffffe, 0, 1,
            new String[] {"physical block 1", "not used by any block"}, CheckMode.REPAIR_LEAKS),
        broken("partial block of junk after the data", v -> {
          v.physicalBlocks = 4;
          v.truncateTo = v.effectiveDataOffset() + 3L * MB + 100;
        }, 0, 1, new String[] {"space after the last block in use"}, CheckMode.REPAIR_LEAKS));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void findingIsReportedAndRepaired(String name, Consumer<VdiBytes> change, long corruptions,
      long leaks, String[] words, CheckMode mode, int[] lost) throws Exception {
    VdiBytes v = healthy();
    change.accept(v);
    MemDevice file = new MemDevice(v.build());
    byte[][] before = new byte[6][];
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(corruptions, r.corruptions(), name + ": " + r.messages());
      assertEquals(leaks, r.leaks(), name + ": " + r.messages());
      for (String w : words) {
        assertTrue(r.messages().stream().anyMatch(m -> m.contains(w)), name + ": '" + w
            + "' in " + r.messages());
      }
      assertEquals(6, r.totalClusters());
      for (int b = 0; b < 6; b++) {
        final int block = b;
        if (Arrays.stream(lost).noneMatch(x -> x == block)) {
          before[b] = TestSupport.read(img, (long) b * MB, MB);
        }
      }
      assertThrows(ReadOnlyException.class, () -> img.check(mode));
    }
    CheckReport repaired;
    try (VdiImage img = TestSupport.open(file, false)) {
      if (mode == CheckMode.REPAIR_ALL && corruptions > 0) {
        CheckReport partial = img.check(CheckMode.REPAIR_LEAKS);
        assertEquals(corruptions, partial.corruptions(), name + ": leaks-only repair leaves "
            + "corruptions: " + partial.messages());
      }
      repaired = img.check(mode);
      assertTrue(repaired.isClean(), name + ": " + repaired.messages());
      assertEquals(corruptions, repaired.corruptionsFixed(), name);
      assertEquals(leaks, repaired.leaksFixed(), name);
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      CheckReport again = img.check(CheckMode.REPORT);
      assertTrue(again.isClean(), name + ": " + again.messages());
      assertEquals(img.header.dataOffset + img.header.blocksAllocated * MB, file.size(), name);
      for (int b = 0; b < 6; b++) {
        byte[] now = TestSupport.read(img, (long) b * MB, MB);
        if (before[b] != null) {
          assertArrayEquals(before[b], now, name + ": block " + b);
        } else {
          assertArrayEquals(new byte[MB], now, name + ": lost block " + b);
        }
      }
    }
  }

  @Test
  void statisticsOfAHealthyImage() throws Exception {
    VdiBytes v = VdiBytes.dynamic(8L * MB, MB);
    v.allocate(0, 1).allocate(1, 0).allocate(2, 2).allocate(5, 3);
    v.map[6] = 0xfffffffe;
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
      assertEquals(8, r.totalClusters());
      assertEquals(4, r.allocatedClusters());
      assertEquals(2, r.fragmentedClusters(), "1 -> 0 and 0 -> 2 break the sequence");
      assertEquals(v.effectiveDataOffset() + 4L * MB, r.imageEndOffset());
    }
  }

  @Test
  void repairKeepsTheFirstOwnerOfASharedBlock() throws Exception {
    VdiBytes v = healthy();
    v.map[2] = 0;
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport r = img.check(CheckMode.REPAIR_ALL);
      assertEquals(1, r.corruptionsFixed());
      assertArrayEquals(VdiBytes.pattern(0, MB), TestSupport.read(img, 0, MB));
      assertArrayEquals(new byte[MB], TestSupport.read(img, 2L * MB, MB));
      assertFalse(r.messages().isEmpty());
    }
  }

  /** Found by fuzzing: repair used to set bad entries to FREE, leaving an image we cannot open. */
  @Test
  void repairOfADifferencingImageZeroesBadEntriesSoItStillOpens() throws Exception {
    VdiBytes v = healthy();
    v.linkage = java.util.UUID.fromString("3e3e3e20-000a-0000-0000-000000000000");
    v.map[2] = 0xfffffffe;
    v.map[4] = 0xfffffffe;
    v.map[5] = 6;
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport r = img.check(CheckMode.REPAIR_ALL);
      assertTrue(r.isClean(), r.messages().toString());
      assertEquals(1, r.corruptionsFixed());
      assertTrue(r.messages().stream().anyMatch(m -> m.contains("set to ZERO")), r.messages()
          .toString());
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertTrue(img.check(CheckMode.REPORT).isClean());
      assertArrayEquals(new byte[MB], TestSupport.read(img, 5L * MB, MB));
      assertArrayEquals(VdiBytes.pattern(2, MB), TestSupport.read(img, 3L * MB, MB));
    }
  }

  /**
   * Found by fuzzing: moving a block that lies past the virtual size and past the end of the
   * file (check accepts it) wrote a whole block of zeros, growing a truncated file by a block
   * (128 MiB for the fuzzer's image) and allocating a buffer per MiB copied.
   */
  @Test
  void compactingABlockPastTheEndOfTheFileDoesNotGrowIt() throws Exception {
    VdiBytes v = VdiBytes.dynamic(MB, MB);
    v.blocks = 3;
    v.map = new int[] {0xfffffffe, -1, 1};
    v.blocksAllocated = 2;
    v.physicalBlocks = 2;
    long dataOffset = v.effectiveDataOffset();
    v.truncateTo = dataOffset + 100;
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport before = img.check(CheckMode.REPORT);
      assertEquals(0, before.corruptions(), before.messages().toString());
      assertEquals(1, before.leaks(), before.messages().toString());
      CheckReport r = img.check(CheckMode.REPAIR_LEAKS);
      assertTrue(r.isClean(), r.messages().toString());
    }
    assertEquals(dataOffset + 100, file.size(), "the file grew");
    byte[] bytes = file.bytes();
    assertArrayEquals(new byte[100], Arrays.copyOfRange(bytes, (int) dataOffset,
        (int) dataOffset + 100), "stale bytes of the freed block remain");
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertTrue(img.check(CheckMode.REPORT).isClean());
      assertEquals(0, img.map.get(2));
    }
  }

  @Test
  void manySharedBlocksAreCountedInBoundedTimeAndMessages() throws Exception {
    // 400000 entries of 512-byte blocks: the first half FREE, the second half all physical 0.
    int blocks = 400_000;
    VdiBytes v = VdiBytes.dynamic(512L * blocks, 512);
    Arrays.fill(v.map, blocks / 2, blocks, 0);
    v.blocksAllocated = 1;
    v.physicalBlocks = 1;
    MemDevice file = new MemDevice(v.build());
    long shared = blocks / 2 - 1;
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      try (VdiImage img = TestSupport.open(file, false)) {
        CheckReport r = img.check(CheckMode.REPORT);
        assertEquals(shared, r.corruptions());
        assertTrue(r.messages().size() <= 10_001, "messages: " + r.messages().size());
        assertTrue(r.messages().contains("ERROR: block " + (blocks / 2 + 1)
            + ": physical block 0 is also used by block " + blocks / 2), r.messages().get(0));
        assertTrue(r.messages().stream().anyMatch(m -> m.contains("and " + (shared - 10_000)
            + " more")), "summary line");
        CheckReport fixed = img.check(CheckMode.REPAIR_ALL);
        assertTrue(fixed.isClean(), fixed.messages().toString());
        assertEquals(shared, fixed.corruptionsFixed());
        assertArrayEquals(VdiBytes.pattern(0, 512), TestSupport.read(img, 512L * (blocks / 2),
            512));
        assertArrayEquals(new byte[512], TestSupport.read(img, 512L * (blocks - 1), 512));
      }
    });
  }
}
