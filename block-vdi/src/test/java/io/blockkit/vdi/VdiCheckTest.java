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
   */
  static Arguments broken(String name, Consumer<VdiBytes> change, long corruptions, long leaks,
      String[] words, CheckMode mode) {
    return Arguments.of(name, change, corruptions, leaks, words, mode);
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
            CheckMode.REPAIR_ALL),
        broken("entry out of range", v -> v.map[5] = 6, 1, 0,
            new String[] {"block 5", "is 6, out of range", "below blocks_in_image, 6"},
            CheckMode.REPAIR_ALL),
        broken("huge entry", v -> v.map[5] = 0x7fffffff, 1, 0,
            new String[] {"block 5", "2147483647"}, CheckMode.REPAIR_ALL),
        broken("data past the end of the file", v -> v.truncateTo = v.effectiveDataOffset()
            + 2L * MB + 1000, 1, 0,
            new String[] {"block 3", "physical block 2", "past the end of the file"},
            CheckMode.REPAIR_ALL),
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

  /**
   * Every byte that read before the repair (with a salvaging reader: failed ranges aside) reads
   * the same after it, and everything reads after it.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void findingIsReportedAndRepaired(String name, Consumer<VdiBytes> change, long corruptions,
      long leaks, String[] words, CheckMode mode) throws Exception {
    VdiBytes v = healthy();
    change.accept(v);
    MemDevice file = new MemDevice(v.build());
    TestSupport.Salvaged before;
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(corruptions, r.corruptions(), name + ": " + r.messages());
      assertEquals(leaks, r.leaks(), name + ": " + r.messages());
      for (String w : words) {
        assertTrue(r.messages().stream().anyMatch(m -> m.contains(w)), name + ": '" + w
            + "' in " + r.messages());
      }
      assertEquals(6, r.totalClusters());
      before = TestSupport.salvage(img, 0, 6 * MB);
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
      TestSupport.Salvaged after = TestSupport.salvage(img, 0, 6 * MB);
      assertEquals(6 * MB, after.readableCount(), name + ": everything reads after repair");
      before.assertKeptIn(after, name);
    }
  }

  /**
   * Thousands of findings of every kind print a few lines each (the first 20, then one line
   * counting the rest) while the counts stay exact: a truncated corpus image used to print 2048
   * lines.
   */
  @Test
  void thousandsOfFindingsPrintAFewLinesWithExactCounts() throws Exception {
    int blocks = 8000;
    VdiBytes v = VdiBytes.dynamic(512L * blocks, 512);
    for (int b = 0; b < 1000; b++) {
      v.map[b] = blocks + b; // out of range
    }
    for (int b = 1000; b < 2000; b++) {
      v.map[b] = 0; // 999 share physical block 0
    }
    for (int b = 2000; b < 5000; b++) {
      v.map[b] = 2 * (b - 2000) + 1; // odd physical blocks: the even ones above 0 are holes
    }
    v.blocksAllocated = 6000;
    v.physicalBlocks = 5000; // physical blocks 5000.. lie past the end of the file
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      long pastEnd = 3000 - 2500;
      assertEquals(1000 + 999 + pastEnd, r.corruptions(), r.messages().toString());
      assertEquals(2999, r.leaks(), r.messages().toString());
      assertTrue(r.messages().size() <= 4 * 21 + 3, r.messages().size() + " lines");
      for (String what : new String[] {"980 more block map entries out of range",
          "979 more block map entries using a physical block another entry uses",
          (pastEnd - 20) + " more blocks whose data lie past the end of the file",
          "2979 more physical blocks not used by any block"}) {
        assertTrue(r.messages().stream().anyMatch(m -> m.contains("... and " + what)),
            what + " in " + r.messages());
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
  void repairGivesTheSecondOwnerOfASharedBlockACopy() throws Exception {
    VdiBytes v = healthy();
    v.map[2] = 0;
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport r = img.check(CheckMode.REPAIR_ALL);
      assertEquals(1, r.corruptionsFixed());
      assertEquals(0, img.map.get(0), "the first owner keeps the block");
      assertArrayEquals(VdiBytes.pattern(0, MB), TestSupport.read(img, 0, MB));
      assertArrayEquals(VdiBytes.pattern(0, MB), TestSupport.read(img, 2L * MB, MB));
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
        assertTrue(r.messages().size() <= 21, "messages: " + r.messages().size());
        assertTrue(r.messages().contains("ERROR: block " + (blocks / 2 + 1)
            + ": physical block 0 is also used by block " + blocks / 2), r.messages().get(0));
        assertTrue(r.messages().stream().anyMatch(m -> m.contains("and " + (shared - 20)
            + " more")), "summary line");
        CheckReport fixed = img.check(CheckMode.REPAIR_ALL);
        assertTrue(fixed.isClean(), fixed.messages().toString());
        assertEquals(shared, fixed.corruptionsFixed());
        assertTrue(fixed.messages().size() <= 2 * 21 + 3, "messages: " + fixed.messages().size());
        // Every entry sharing the block got a copy of it.
        assertArrayEquals(VdiBytes.pattern(0, 512), TestSupport.read(img, 512L * (blocks / 2),
            512));
        assertArrayEquals(VdiBytes.pattern(0, 512), TestSupport.read(img, 512L * (blocks - 1),
            512));
        assertEquals((long) blocks / 2, img.nextFreeBlock());
      }
    });
  }
}
