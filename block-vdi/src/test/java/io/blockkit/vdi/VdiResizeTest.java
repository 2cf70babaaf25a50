package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resize (the format reference, section 1.11): growth with room after the map, growth that moves
 * the first data blocks to make room for a bigger map (hand-built images with the data right
 * after the map, as QEMU lays them out), shrinking only over parts that hold no data, fixed and
 * differencing images, and a crash at every write of each.
 */
class VdiResizeTest {
  private static final int MB = 1 << 20;
  private static final int KB512 = 512 << 10;

  /**
   * 8 blocks of 512 KiB with the data right after the map (no room for a 129th entry), blocks
   * 0, 2, 5 and 7 allocated in a shuffled physical order.
   */
  private static VdiBytes tight() {
    VdiBytes v = VdiBytes.dynamic(128L * KB512, KB512);
    v.allocate(5, 0).allocate(0, 1).allocate(7, 2).allocate(2, 3);
    return v;
  }

  private static byte[] content(VdiImage img) throws IOException {
    return TestSupport.read(img, 0, (int) img.size());
  }

  private static void assertClean(VdiImage img, String what) throws IOException {
    CheckReport r = img.check(CheckMode.REPORT);
    assertEquals(0, r.corruptions() + r.leaks(), what + ": " + r.messages());
  }

  @Test
  void growingWithRoomAfterTheMapWritesOnlyEntriesAndTheHeader() throws IOException {
    MemDevice file = TestSupport.create(Map.of("size", "3M"));
    byte[] data = VdiBytes.pattern(3, MB);
    byte[] before;
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, MB, data);
      before = content(img);
      img.truncate(40L * MB);
      assertEquals(40L * MB, img.size());
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals(40L * MB, img.size());
      assertArrayEquals(before, TestSupport.read(img, 0, 3 * MB));
      assertArrayEquals(new byte[37 * MB], TestSupport.read(img, 3L * MB, 37 * MB));
      assertEquals(40L, img.info().formatSpecific().get("blocks"));
      assertEquals(4096L, img.info().formatSpecific().get("data-offset"), "nothing moved");
      assertClean(img, "after growing");
    }
  }

  @Test
  void growingPastTheRoomMovesTheFirstBlocks() throws IOException {
    VdiBytes v = tight();
    MemDevice file = new MemDevice(v.build());
    byte[] before;
    long oldData;
    try (VdiImage img = TestSupport.open(file, false)) {
      before = content(img);
      oldData = img.header.dataOffset;
      img.truncate(1024L * KB512);
      byte[] now = content(img);
      assertArrayEquals(before, Arrays.copyOf(now, before.length));
      assertArrayEquals(new byte[now.length - before.length],
          Arrays.copyOfRange(now, before.length, now.length), "the new area reads zeros");
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals(1024L * KB512, img.size());
      assertArrayEquals(before, TestSupport.read(img, 0, before.length));
      long dataOffset = img.header.dataOffset;
      assertTrue(dataOffset > oldData, "the data start moved: " + dataOffset);
      assertEquals(0, (dataOffset - oldData) % KB512, "by whole blocks");
      assertTrue(img.header.blocksOffset + 4 * 1024 <= dataOffset, "the map fits before it");
      assertEquals(4L, img.info().formatSpecific().get("blocks-allocated"));
      assertEquals(0, dataOffset % 512, "QEMU needs 512-aligned offsets");
      assertClean(img, "after growing with moves");
    }
  }

  @Test
  void growingThatMovesBlocksSurvivesACrashAtEveryWrite() throws IOException {
    byte[] start = tight().build();
    byte[] before;
    try (VdiImage img = TestSupport.open(start, true)) {
      before = content(img);
    }
    byte[] after = Arrays.copyOf(before, 1024 * KB512);
    int points = CrashPoints.everyWrite(start, img -> img.truncate(1024L * KB512), before, after);
    assertTrue(points > 5, "only " + points + " crash points");
  }

  @Test
  void aFullImageWithNoRoomRefusesToGrowAndChangesNothing() throws IOException {
    VdiBytes v = VdiBytes.dynamic(128L * KB512, KB512);
    for (int i = 0; i < 128; i++) {
      v.allocate(i, i);
    }
    byte[] bytes = v.build();
    MemDevice file = new MemDevice(bytes);
    try (VdiImage img = TestSupport.open(file, false)) {
      BlockException e = assertThrows(BlockException.class, () -> img.truncate(1024L * KB512));
      assertTrue(e.getMessage().contains("convert"), e.getMessage());
      assertEquals(128L * KB512, img.size());
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertArrayEquals(TestSupport.read(TestSupport.open(bytes, true), 0, 128 * KB512),
          content(img));
    }
  }

  @Test
  void shrinkingRefusesDataAndReleasesZeroBlocks() throws IOException {
    MemDevice file = TestSupport.create(Map.of("size", "8M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 0, VdiBytes.pattern(1, MB));
      TestSupport.write(img, 6L * MB + 5, new byte[] {7});
      TestSupport.write(img, 5L * MB, new byte[MB]); // a block of zeros, not allocated
      BlockException e = assertThrows(BlockException.class, () -> img.truncate(4L * MB));
      assertTrue(e.getMessage().contains("block 6"), e.getMessage());
      assertEquals(8L * MB, img.size());
      TestSupport.write(img, 6L * MB + 5, new byte[] {0}); // allocated, now zeros
      img.truncate(4L * MB);
      assertEquals(4L * MB, img.size());
      assertEquals(1L, img.info().formatSpecific().get("blocks-allocated"));
      assertThrows(InvalidOptionException.class, () -> img.truncate(4L * MB - 100));
    }
    assertEquals(4096 + MB, file.bytes().length, "the released block left the file");
    try (VdiImage img = TestSupport.open(file.bytes(), false)) {
      assertArrayEquals(VdiBytes.pattern(1, MB), TestSupport.read(img, 0, MB));
      assertClean(img, "after shrinking");
      img.truncate(8L * MB);
      assertArrayEquals(new byte[4 * MB], TestSupport.read(img, 4L * MB, 4 * MB),
          "grown back: zeros, not the old block");
    }
  }

  @Test
  void shrinkingSurvivesACrashAtEveryWrite() throws IOException {
    MemDevice file = TestSupport.create(Map.of("size", "6M", "block_size", "512K"));
    try (VdiImage img = TestSupport.open(file, false)) {
      for (int b = 0; b < 12; b += 2) {
        TestSupport.write(img, (long) b * KB512, VdiBytes.pattern(b, KB512));
      }
      for (int b = 6; b < 12; b += 2) {
        TestSupport.write(img, (long) b * KB512 + 9, new byte[KB512 - 9]);
        TestSupport.write(img, (long) b * KB512, new byte[9]);
      }
    }
    byte[] start = file.bytes();
    byte[] before;
    try (VdiImage img = TestSupport.open(start, true)) {
      before = content(img);
    }
    CrashPoints.everyWrite(start, img -> img.truncate(3L * MB), before,
        Arrays.copyOf(before, 3 * MB));
  }

  @Test
  void aFixedImageGrowsPreallocated() throws IOException {
    MemDevice file = TestSupport.create(Map.of("size", "2M", "static", "on"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 0, VdiBytes.pattern(4, MB));
      img.truncate(5L * MB);
      assertThrows(UnsupportedFeatureException.class, () -> img.truncate(MB));
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals("fixed", img.info().formatSpecific().get("type"));
      assertEquals(5L, img.info().formatSpecific().get("blocks-allocated"));
      assertEquals(img.header.dataOffset + 5L * MB, file.bytes().length, "preallocated");
      assertArrayEquals(VdiBytes.pattern(4, MB), TestSupport.read(img, 0, MB));
      assertArrayEquals(new byte[4 * MB], TestSupport.read(img, MB, 4 * MB));
      for (int b = 0; b < 5; b++) {
        assertEquals(b, img.map.get(b), "the identity map continues");
      }
      assertClean(img, "fixed, grown");
    }
  }

  @Test
  void aVersion0ImageIsNotResized() throws IOException {
    VdiBytes v = VdiBytes.dynamic(2L * MB, MB);
    v.version = 0x00000002;
    try (VdiImage img = TestSupport.open(v.build(), false)) {
      UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
          () -> img.truncate(4L * MB));
      assertTrue(e.getMessage().contains("0.2"), e.getMessage());
    }
  }

  /** The grown part of a differencing image reads zeros, not the larger parent's data. */
  @Test
  void aGrownDifferencingImageReadsZerosPastItsOldEnd(@TempDir Path dir) throws IOException {
    Chains c = new Chains(dir);
    VdiBytes base = c.putBase("base.vdi", 6, MB);
    c.create("child.vdi", Map.of("backing_file", "base.vdi", "size", "2M"));
    try (BlockDevice d = c.open("child.vdi", false)) {
      d.truncate(6L * MB);
    }
    try (BlockDevice d = c.open("child.vdi", true)) {
      byte[] got = Chains.readAll(d);
      byte[] expected = new byte[6 * MB];
      System.arraycopy(VdiBytes.pattern(0, MB), 0, expected, 0, MB);
      System.arraycopy(VdiBytes.pattern(1, MB), 0, expected, MB, MB);
      assertArrayEquals(expected, got);
    }
    assertTrue(c.warnings.isEmpty(), c.warnings.toString());
    assertEquals(base.create, UUID.fromString(
        String.valueOf(c.open("child.vdi", true).info().formatSpecific().get("parent-uuid"))));
  }
}
