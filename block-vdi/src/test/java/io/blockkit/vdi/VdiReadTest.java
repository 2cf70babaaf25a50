package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.Extent;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Reading hand-made images: every header version, block size, extra area and marker. */
class VdiReadTest {

  /** What the image must read as, block by block, from a builder's map. */
  private static byte[] expected(VdiBytes v) {
    byte[] out = new byte[(int) ((v.diskSize + 511) & -512L)];
    for (int b = 0; b < v.map.length; b++) {
      if (Integer.compareUnsigned(v.map[b], 0xfffffffe) < 0) {
        byte[] data = VdiBytes.pattern(v.map[b], v.blockSize);
        int start = b * v.blockSize;
        int n = Math.min(v.blockSize, out.length - start);
        if (n > 0) {
          System.arraycopy(data, 0, out, start, n);
        }
      }
    }
    return out;
  }

  private static void assertReadsAsExpected(VdiBytes v) throws Exception {
    byte[] want = expected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      assertEquals(want.length, img.size());
      assertArrayEquals(want, TestSupport.read(img, 0, want.length));
      // Unaligned reads across block boundaries.
      int bs = v.blockSize;
      for (long off : new long[] {1, bs - 3, bs + 17, 2L * bs - 1}) {
        int n = (int) Math.min(bs + 5, want.length - off);
        if (n > 0) {
          assertArrayEquals(Arrays.copyOfRange(want, (int) off, (int) off + n),
              TestSupport.read(img, off, n), "offset " + off);
        }
      }
      assertTrue(img.check(CheckMode.REPORT).isClean(), img.check(CheckMode.REPORT).messages()
          .toString());
    }
  }

  @ParameterizedTest(name = "block size {0}")
  @ValueSource(ints = {512, 4096, 128 << 10, 512 << 10, 1 << 20, 2 << 20})
  void everyPowerOfTwoBlockSize(int blockSize) throws Exception {
    VdiBytes v = VdiBytes.dynamic(4L * blockSize, blockSize);
    v.allocate(0, 1).allocate(2, 0).allocate(3, 2);
    assertReadsAsExpected(v);
  }

  /** VirtualBox opens blocks up to 128 MiB: read, write and check one without 128 MiB buffers. */
  @Test
  void largestBlockSizeVirtualBoxOpens() throws Exception {
    int bs = 128 << 20;
    VdiBytes v = VdiBytes.dynamic(3L * bs - 512, bs);
    v.map[0] = 1;
    v.map[2] = 0;
    v.blocksAllocated = 2;
    byte[] header = v.build();
    long data = v.effectiveDataOffset();
    SparseDevice file = new SparseDevice(0, 0);
    file.write(0, ByteBuffer.wrap(header));
    // The last 4 bytes of the disk (virtual block 2 -> physical 0) and of virtual block 0
    // (-> physical 1).
    file.write(data + bs - 516, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
    file.write(data + 2L * bs - 4, ByteBuffer.wrap(new byte[] {5, 6, 7, 8}));
    try (VdiImage img = (VdiImage) TestSupport.DRIVER.open(io.blockkit.api.OpenRequest.of(
        "big-blocks.vdi", file.reopen(), false))) {
      assertEquals(3L * bs - 512, img.size());
      assertArrayEquals(new byte[] {5, 6, 7, 8}, TestSupport.read(img, bs - 4, 4));
      assertArrayEquals(new byte[] {1, 2, 3, 4}, TestSupport.read(img, 3L * bs - 516, 4));
      assertArrayEquals(new byte[4], TestSupport.read(img, bs, 4));
      // A write into the FREE middle block allocates a 128 MiB block, zero-filled around it.
      TestSupport.write(img, bs + 1000, new byte[] {9, 9});
      assertArrayEquals(new byte[] {0, 9, 9, 0}, TestSupport.read(img, bs + 999, 4));
      assertEquals(3, img.nextFreeBlock());
      assertTrue(img.check(CheckMode.REPORT).isClean());
    }
  }

  @ParameterizedTest(name = "block extra {0}")
  @ValueSource(ints = {512, 4096, 1 << 20})
  void blockExtraIsSkippedInEveryBlock(int extra) throws Exception {
    VdiBytes v = VdiBytes.dynamic(4L << 20, 1 << 20);
    v.blockExtra = extra;
    v.allocate(0, 0).allocate(1, 1).allocate(3, 2);
    assertReadsAsExpected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      // With an extra area, consecutive physical blocks are not contiguous: one extent each.
      Extent x = img.blockStatus(0, img.size());
      assertEquals(1 << 20, x.length());
      assertEquals(v.effectiveDataOffset() + extra, x.hostOffset());
    }
  }

  @Test
  void version0HeaderWithImpliedOffsets() throws Exception {
    VdiBytes v = VdiBytes.dynamic(3L << 20, 1 << 20);
    v.version = 0x00000002;
    v.allocate(0, 1).allocate(2, 0);
    assertReadsAsExpected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      Map<String, Object> f = img.info().formatSpecific();
      assertEquals("0.2", f.get("version"));
      assertEquals(420L, f.get("block-map-offset"));
      assertEquals(432L, f.get("data-offset"));
      assertEquals(v.create.toString(), f.get("image-uuid"));
    }
  }

  /**
   * VirtualBox opens every minor version of major 1 (the minor never changes the layout) and
   * reads LCHS geometry only from 1.1 headers; blockkit refused 1.0 and 1.2.
   */
  @ParameterizedTest(name = "version 0x{0}")
  @ValueSource(strings = {"00010000", "00010002", "0001ffff"})
  void everyMinorVersionOfMajor1Opens(String hex) throws Exception {
    VdiBytes v = VdiBytes.dynamic(3L << 20, 1 << 20);
    v.version = Integer.parseUnsignedInt(hex, 16);
    v.lchsSectorSize = 0; // ignored outside 1.1, as VirtualBox ignores it
    v.allocate(0, 1).allocate(2, 0);
    assertReadsAsExpected(v);
    java.util.List<String> warnings = new java.util.ArrayList<>();
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = (VdiImage) TestSupport.DRIVER.open(new io.blockkit.api.OpenRequest(
        "test.vdi", file, io.blockkit.api.options.Options.empty(), false, false, null,
        warnings::add))) {
      Map<String, Object> f = img.info().formatSpecific();
      assertEquals((v.version >>> 16) + "." + (v.version & 0xffff), f.get("version"));
      assertFalse(f.containsKey("lchs"));
      TestSupport.write(img, 1 << 20, VdiBytes.pattern(7, 1 << 20));
    }
    assertTrue(warnings.stream().anyMatch(w -> w.contains("QEMU opens only version 1.1")),
        warnings.toString());
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertEquals(v.version, ByteBuffer.wrap(file.bytes()).order(java.nio.ByteOrder
          .LITTLE_ENDIAN).getInt(0x44), "the version is kept");
      assertArrayEquals(VdiBytes.pattern(7, 1 << 20), TestSupport.read(img, 1 << 20, 1 << 20));
      assertTrue(img.check(CheckMode.REPORT).isClean());
    }
  }

  /** What {@code qemu-img create -f vdi x 0} makes: no blocks, a 0-byte disk. */
  @Test
  void aZeroSizeImageOpensChecksCleanAndReadsNothing() throws Exception {
    VdiBytes v = VdiBytes.dynamic(0, 1 << 20);
    v.headerSize = 384;
    byte[] image = v.build();
    for (boolean readOnly : new boolean[] {true, false}) {
      try (VdiImage img = TestSupport.open(new MemDevice(image), readOnly)) {
        assertEquals(0, img.size());
        assertEquals(0, img.info().virtualSize());
        assertEquals(0L, img.info().formatSpecific().get("blocks"));
        assertEquals(0, TestSupport.read(img, 0, 0).length);
        assertTrue(img.check(CheckMode.REPORT).isClean());
        if (!readOnly) {
          assertTrue(img.check(CheckMode.REPAIR_ALL).isClean());
        }
      }
    }
  }

  @Test
  void header384HasNoGeometry() throws Exception {
    VdiBytes v = VdiBytes.dynamic(2L << 20, 1 << 20);
    v.headerSize = 384;
    v.mapOffset = 512;
    v.allocate(1, 0);
    assertReadsAsExpected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      assertFalse(img.info().formatSpecific().containsKey("lchs"));
      assertEquals(384L, img.info().formatSpecific().get("header-size"));
    }
  }

  @Test
  void zeroEntriesReadZerosAndAreNeverIndexes() throws Exception {
    VdiBytes v = VdiBytes.dynamic(4L << 20, 1 << 20);
    v.allocate(0, 0).allocate(3, 1);
    v.map[1] = 0xfffffffe;
    v.map[2] = 0xfffffffe;
    assertReadsAsExpected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      Extent zero = img.blockStatus(1 << 20, 3L << 20);
      assertTrue(zero.zero());
      assertFalse(zero.data());
      assertEquals(2L << 20, zero.length());
      Extent data = img.blockStatus(3L << 20, 1L << 20);
      assertTrue(data.data());
      assertEquals(v.effectiveDataOffset() + (1L << 20), data.hostOffset());
      assertEquals(img.child().orElseThrow(), data.host());
    }
  }

  @Test
  void oddDiskSizeKeepsEveryByteVisible() throws Exception {
    VdiBytes v = VdiBytes.dynamic(1474560 + 100, 1 << 20);
    v.allocate(0, 0).allocate(1, 1);
    assertReadsAsExpected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      assertEquals(1474560 + 512, img.size());
      assertEquals(1474660L, img.info().formatSpecific().get("disk-size"));
    }
  }

  @Test
  void contiguousBlocksAreOneChildReadAndOneExtent() throws Exception {
    VdiBytes v = VdiBytes.dynamic(6L << 20, 1 << 20);
    v.allocate(0, 0).allocate(1, 1).allocate(2, 2).allocate(3, 4).allocate(4, 3);
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, true)) {
      TestSupport.read(img, 0, 1 << 20); // loads the map page
      file.resetCounters();
      TestSupport.read(img, 100, (3 << 20) - 200);
      assertEquals(1, file.reads.get());
      file.resetCounters();
      TestSupport.read(img, (2 << 20) + 5, 1 << 20);
      assertEquals(2, file.reads.get(), "physical 2 and 4 are not adjacent");
      file.resetCounters();
      TestSupport.read(img, (2 << 20) + 5, 2 << 20);
      assertEquals(3, file.reads.get(), "physical 2, 4, 3: descending is not contiguous");
      Extent x = img.blockStatus(0, img.size());
      assertEquals(3L << 20, x.length());
      assertEquals(v.effectiveDataOffset(), x.hostOffset());
      Extent y = img.blockStatus(x.end(), img.size() - x.end());
      assertEquals(1L << 20, y.length());
      Extent z = img.blockStatus(5L << 20, 1L << 20);
      assertTrue(z.zero());
    }
  }

  @Test
  void selfContainedDifferencingImageOpens() throws Exception {
    VdiBytes v = VdiBytes.dynamic(2L << 20, 1 << 20);
    v.type = 4;
    v.linkage = UUID.fromString("11111111-2222-3333-4444-555555555555");
    v.allocate(0, 0);
    v.map[1] = 0xfffffffe;
    assertReadsAsExpected(v);
    try (VdiImage img = TestSupport.open(v.build(), true)) {
      assertEquals("differencing", img.info().formatSpecific().get("type"));
      assertEquals("11111111-2222-3333-4444-555555555555",
          img.info().formatSpecific().get("parent-uuid"));
    }
  }

  @Test
  void readOnlyOpenReadsOnlyWhatItNeedsAndWritesNothing() throws Exception {
    VdiBytes v = VdiBytes.dynamic(40000L << 20, 1 << 20);
    v.allocate(0, 0);
    byte[] bytes = v.build();
    MemDevice file = new MemDevice(bytes);
    try (VdiImage img = TestSupport.open(file, true)) {
      TestSupport.read(img, 0, 4096);
      img.info();
      img.check(CheckMode.REPORT);
      img.flush();
    }
    assertEquals(0, file.writes.get());
    assertEquals(0, file.zeroWrites.get());
    assertArrayEquals(bytes, file.bytes());
  }

  /**
   * Found by fuzzing: an out-of-range entry with a 2 GiB block_extra put the block's offset past
   * 2^63, and reads failed with an IllegalArgumentException from the child. Such a block is now
   * unreadable (a DataUnavailableException for exactly its range, as check flags it), has no host
   * offset in block status, refuses writes, and repair frees it.
   */
  @Test
  void outOfRangeEntryIsUnreadableEvenWhenItsOffsetWouldOverflow() throws Exception {
    VdiBytes v = VdiBytes.dynamic(2048, 1024);
    v.blockExtra = 1 << 31;
    v.map[1] = 0xffffffe0;
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      io.blockkit.api.error.DataUnavailableException e = org.junit.jupiter.api.Assertions
          .assertThrows(io.blockkit.api.error.DataUnavailableException.class,
              () -> TestSupport.read(img, 1000, 100));
      assertEquals(1024, e.offset());
      assertEquals(76, e.length());
      assertTrue(e.getMessage().contains("block 1") && e.getMessage().contains("4294967264"),
          e.getMessage());
      Extent x = img.blockStatus(1024, 1024);
      assertTrue(x.data() && !x.hasHostOffset(), x.toString());
      assertEquals(1, img.check(CheckMode.REPORT).corruptions());
    }
    try (VdiImage img = TestSupport.open(file, false)) {
      org.junit.jupiter.api.Assertions.assertThrows(
          io.blockkit.api.error.CorruptImageException.class,
          () -> TestSupport.write(img, 1500, new byte[] {1}));
      assertTrue(img.check(CheckMode.REPAIR_ALL).isClean());
      assertArrayEquals(new byte[1024], TestSupport.read(img, 1024, 1024));
    }
  }
}
