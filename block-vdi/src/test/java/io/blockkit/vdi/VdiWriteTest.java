package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.error.InvalidOptionException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Creating and writing images: layout, allocation, metadata cost, zeros, crash order, threads. */
class VdiWriteTest {
  private static final int MB = 1 << 20;

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static byte[] fill(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  @Test
  void createWritesTheDocumentedLayout() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "64M", "comment", "made by a test",
        "uuid", "c92b558e-eba5-43e8-a8b3-984f946db1b2"));
    byte[] b = file.bytes();
    ByteBuffer h = le(b);
    assertEquals(0xbeda107f, h.getInt(0x40));
    assertEquals(0x00010001, h.getInt(0x44));
    assertEquals(400, h.getInt(72));
    assertEquals(1, h.getInt(76));
    assertEquals(512, h.getInt(340));
    assertEquals(4096, h.getInt(344));
    assertEquals(512, h.getInt(360));
    assertEquals(64L * MB, h.getLong(368));
    assertEquals(MB, h.getInt(376));
    assertEquals(0, h.getInt(380));
    assertEquals(64, h.getInt(384));
    assertEquals(0, h.getInt(388));
    assertEquals(512, h.getInt(468));
    // The test vector of the corpus, in VirtualBox's mixed-endian order.
    assertEquals("8e552bc9a5ebe843a8b3984f946db1b2",
        HexFormat.of().formatHex(Arrays.copyOfRange(b, 392, 408)));
    assertEquals(4096, b.length);
    for (int i = 0; i < 64; i++) {
      assertEquals(-1, h.getInt(512 + 4 * i));
    }
    try (VdiImage img = TestSupport.open(file, true)) {
      assertEquals("made by a test", img.info().formatSpecific().get("comment"));
      assertEquals("c92b558e-eba5-43e8-a8b3-984f946db1b2",
          img.info().formatSpecific().get("image-uuid"));
      assertTrue(img.check(CheckMode.REPORT).isClean());
    }
  }

  @Test
  void staticAndPreallocationMakeFixedImages() throws Exception {
    for (Map<String, String> o : List.of(Map.of("size", "3M", "static", "on"),
        Map.of("size", "3M", "preallocation", "metadata"),
        Map.of("size", "3M", "preallocation", "full"))) {
      MemDevice file = TestSupport.create(o);
      ByteBuffer h = le(file.bytes());
      assertEquals(2, h.getInt(76), o.toString());
      assertEquals(3, h.getInt(388));
      assertEquals(4096 + 3 * MB, file.size());
      for (int i = 0; i < 3; i++) {
        assertEquals(i, h.getInt(512 + 4 * i));
      }
      try (VdiImage img = TestSupport.open(file, false)) {
        assertArrayEquals(new byte[3 * MB], TestSupport.read(img, 0, 3 * MB));
        TestSupport.write(img, MB + 7, fill(100, 9));
        assertTrue(img.check(CheckMode.REPORT).isClean());
      }
    }
  }

  @Test
  void everyCreatedImageKeepsVirtualBoxsOpenRules() throws Exception {
    List<Map<String, String>> variants = List.of(Map.of("size", "1"), Map.of("size", "1234567"),
        Map.of("size", "64M", "static", "on"), Map.of("size", "3M", "preallocation", "full"),
        Map.of("size", "100M", "block_size", "512K"), Map.of("size", "100M", "block_size", "8M"),
        Map.of("size", "10G", "comment", "x".repeat(255), "uuid",
            "c92b558e-eba5-43e8-a8b3-984f946db1b2"));
    for (Map<String, String> o : variants) {
      byte[] image = TestSupport.create(o).bytes();
      assertEquals(List.of(), VirtualBoxRules.violations(image), o.toString());
      // A header VirtualBox would refuse is caught by the same rules (the checker can fail).
      byte[] broken = image.clone();
      ByteBuffer.wrap(broken).order(ByteOrder.LITTLE_ENDIAN).putInt(340, 400);
      assertTrue(VirtualBoxRules.violations(broken).contains("offBlocks inside the header"));
    }
  }

  @Test
  void badCreateOptionsAreClearErrors() {
    for (Map<String, String> o : List.of(Map.of("size", "0"), Map.of("size", "1M", "block_size",
        "3M"), Map.of("size", "1M", "block_size", "256K"), Map.of("size", "1M", "block_size", "16M"),
        Map.of("size", "562949819203585"), Map.of("size", "1M", "static", "on", "preallocation",
            "off"), Map.of("size", "1M", "comment", "x".repeat(256)),
        Map.of("size", "1M", "uuid", "00000000-0000-0000-0000-000000000000"),
        Map.of("static", "on"))) {
      InvalidOptionException e = assertThrows(InvalidOptionException.class,
          () -> TestSupport.create(o), o.toString());
      assertTrue(e.getMessage().contains("'"), e.getMessage());
    }
  }

  @Test
  void sizesAreRoundedUpToSectorsAndBlockSizesHonoured() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "1234", "block_size", "2M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      assertEquals(1536, img.size());
      assertEquals(2L * MB, img.info().clusterSize());
      TestSupport.write(img, 1000, fill(536, 5));
      assertArrayEquals(fill(536, 5), TestSupport.read(img, 1000, 536));
    }
  }

  @Test
  void newBlocksAreAppendedAndPartialWritesZeroFilled() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "8M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 5L * MB + 100, fill(10, 1));
      TestSupport.write(img, 2L * MB, fill(MB, 2));
      TestSupport.write(img, 5L * MB + 200, fill(10, 3));
    }
    byte[] b = file.bytes();
    ByteBuffer h = le(b);
    assertEquals(2, h.getInt(388));
    assertEquals(0, h.getInt(512 + 4 * 5));
    assertEquals(1, h.getInt(512 + 4 * 2));
    assertEquals(4096 + 2 * MB, b.length);
    byte[] block0 = Arrays.copyOfRange(b, 4096, 4096 + MB);
    byte[] want = new byte[MB];
    Arrays.fill(want, 100, 110, (byte) 1);
    Arrays.fill(want, 200, 210, (byte) 3);
    assertArrayEquals(want, block0);
    try (VdiImage img = TestSupport.open(b, true)) {
      assertTrue(img.check(CheckMode.REPORT).isClean(), img.check(CheckMode.REPORT).messages()
          .toString());
      assertArrayEquals(fill(MB, 2), TestSupport.read(img, 2L * MB, MB));
    }
  }

  @Test
  void metadataIsWrittenOncePerRequest() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "16M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      file.resetCounters();
      TestSupport.write(img, MB / 2, fill(3 * MB, 7));
      // 4 new blocks (one data write each), one header write, one map write; the rest of the
      // two partly written blocks is zeroed by the child, not with a block-sized buffer.
      assertEquals(4 + 1 + 1, file.writes.get());
      assertEquals(2, file.zeroWrites.get());
      file.resetCounters();
      TestSupport.write(img, MB / 2, fill(2 * MB, 8));
      assertEquals(3, file.writes.get(), "in place: data only, no metadata");
      assertEquals(0, file.zeroWrites.get());
      file.resetCounters();
      TestSupport.write(img, 10L * MB, fill(100, 8));
      assertEquals(3, file.writes.get(), "one block: data, header, map");
    }
  }

  @Test
  void zerosCostNothing() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "8M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 0, new byte[MB]);
      TestSupport.write(img, 3L * MB + 5, new byte[1000]);
      assertEquals(0, img.nextFreeBlock());
      file.resetCounters();
      img.writeZeroes(MB, 2L * MB);
      assertTrue(file.writes.get() <= 2, "map (and header) only: " + file.writes.get());
      assertEquals(0, file.zeroWrites.get(), "no data zeroed for unallocated blocks");
      assertEquals(0, img.nextFreeBlock());
      Extent x = img.blockStatus(MB, MB);
      assertTrue(x.zero());
      assertEquals(0xfffffffe, le(file.bytes()).getInt(512 + 4));
      // A partial zero range of an allocated block writes zeros in place and keeps the block.
      TestSupport.write(img, 4L * MB, fill(MB, 4));
      img.writeZeroes(4L * MB + 10, 20);
      byte[] want = fill(MB, 4);
      Arrays.fill(want, 10, 30, (byte) 0);
      assertArrayEquals(want, TestSupport.read(img, 4L * MB, MB));
      assertEquals(1, img.nextFreeBlock());
    }
  }

  @Test
  void zeroingWholeAllocatedBlocksMovesTheLastBlockIntoTheHole() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "8M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      for (int i = 0; i < 4; i++) {
        TestSupport.write(img, (long) i * MB, fill(MB, 10 + i));
      }
      long before = file.size();
      img.discard(MB, MB);
      assertEquals(3, img.nextFreeBlock());
      assertEquals(before - MB, file.size());
      assertArrayEquals(new byte[MB], TestSupport.read(img, MB, MB));
      for (int i : new int[] {0, 2, 3}) {
        assertArrayEquals(fill(MB, 10 + i), TestSupport.read(img, (long) i * MB, MB), "block " + i);
      }
      assertEquals(0xfffffffe, le(file.bytes()).getInt(512 + 4));
      assertEquals(1, le(file.bytes()).getInt(512 + 12), "block 3 moved into physical 1");
      img.writeZeroes(0, 4L * MB);
      assertEquals(0, img.nextFreeBlock());
      assertEquals(4096, file.size());
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
    }
  }

  @Test
  void modificationUuidChangesOnTheFirstWriteOnly() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "4M"));
    UUID original;
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      original = img.modificationUuid();
    }
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.read(img, 0, 100);
      assertEquals(original, img.modificationUuid());
      TestSupport.write(img, 0, fill(10, 1));
      UUID first = img.modificationUuid();
      assertNotEquals(original, first);
      TestSupport.write(img, MB, fill(10, 1));
      assertEquals(first, img.modificationUuid());
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertNotEquals(original, img.modificationUuid());
    }
  }

  @Test
  void staleHeaderCountNeverLeadsToReuse() throws Exception {
    VdiBytes v = VdiBytes.dynamic(8L << 20, MB);
    v.allocate(0, 0).allocate(1, 1).allocate(2, 2);
    v.blocksAllocated = 1; // as if a crash lost the header update
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, false)) {
      assertEquals(3, img.nextFreeBlock());
      TestSupport.write(img, 5L * MB, fill(MB, 1));
      assertArrayEquals(VdiBytes.pattern(2, MB), TestSupport.read(img, 2L * MB, MB));
      assertEquals(3, le(file.bytes()).getInt(512 + 4 * 5));
    }
  }

  @Test
  void aCrashAfterAnyWriteLeavesAtWorstLeaks() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "8M"));
    byte[] initial = file.bytes();
    file.log = java.util.Collections.synchronizedList(new ArrayList<>());
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 0, fill(MB + 10, 1));
      TestSupport.write(img, 6L * MB, fill(100, 2));
      TestSupport.write(img, 3L * MB, fill(2 * MB, 3));
      img.discard(0, 2L * MB);
      TestSupport.write(img, 7L * MB, fill(MB, 4));
      img.writeZeroes(6L * MB, MB);
      img.flush();
    }
    List<MemDevice.Change> log = new ArrayList<>(file.log);
    byte[] image = initial;
    for (int i = 0; i <= log.size(); i++) {
      try (VdiImage img = TestSupport.open(image, true)) {
        CheckReport r = img.check(CheckMode.REPORT);
        assertEquals(0, r.corruptions(), "after " + i + " of " + log.size() + " writes: "
            + r.messages());
      }
      if (i < log.size()) {
        image = log.get(i).applyTo(image);
      }
    }
    try (VdiImage img = TestSupport.open(image, false)) {
      assertArrayEquals(new byte[2 * MB], TestSupport.read(img, 0, 2 * MB));
      assertArrayEquals(fill(2 * MB, 3), TestSupport.read(img, 3L * MB, 2 * MB));
      assertArrayEquals(new byte[MB], TestSupport.read(img, 6L * MB, MB));
      assertArrayEquals(fill(MB, 4), TestSupport.read(img, 7L * MB, MB));
      assertTrue(img.check(CheckMode.REPORT).isClean());
    }
  }

  @Test
  void manyThreadsWritingOneUnallocatedBlockAllocateItOnce() throws Exception {
    int threads = 16;
    for (int round = 0; round < 20; round++) {
      MemDevice file = TestSupport.create(Map.of("size", "4M"));
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try (VdiImage img = TestSupport.open(file, false)) {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        int slice = MB / threads;
        for (int t = 0; t < threads; t++) {
          int id = t;
          done.add(pool.submit(() -> {
            start.await();
            TestSupport.write(img, MB + (long) id * slice, fill(slice, id + 1));
            return null;
          }));
        }
        start.countDown();
        for (Future<?> f : done) {
          f.get();
        }
        assertEquals(1, img.nextFreeBlock(), "round " + round);
        byte[] all = TestSupport.read(img, MB, MB);
        for (int t = 0; t < threads; t++) {
          assertArrayEquals(fill(slice, t + 1), Arrays.copyOfRange(all, t * slice,
              (t + 1) * slice), "round " + round + ", thread " + t);
        }
      } finally {
        pool.shutdownNow();
      }
      try (VdiImage img = TestSupport.open(file.bytes(), true)) {
        assertTrue(img.check(CheckMode.REPORT).isClean());
        assertEquals(1, img.header.blocksAllocated);
      }
    }
  }

  @ParameterizedTest(name = "tiny map cache: {0}")
  @ValueSource(booleans = {false, true})
  void concurrentWritesReadsAndDiscardsKeepEveryBlockConsistent(boolean tinyMapCache)
      throws Exception {
    int threads = 8;
    MemDevice file = TestSupport.create(Map.of("size", "16M", "block_size", "512K"));
    int bs = 512 << 10;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    VdiDriver driver = tinyMapCache ? TestSupport.TINY_MAP_CACHE : TestSupport.DRIVER;
    try (VdiImage img = TestSupport.open(driver, file, false)) {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        done.add(pool.submit(() -> {
          // Each thread owns blocks id, id+8, ...; writes, verifies, discards, verifies.
          for (int iter = 0; iter < 20; iter++) {
            long block = id + (long) threads * (iter % 4);
            byte[] data = fill(bs, 1 + (id * 20 + iter) % 250);
            TestSupport.write(img, block * bs, data);
            assertArrayEquals(data, TestSupport.read(img, block * bs, bs));
            if (iter % 3 == 0) {
              img.discard(block * bs, bs);
              assertArrayEquals(new byte[bs], TestSupport.read(img, block * bs, bs));
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
    } finally {
      pool.shutdownNow();
    }
  }
  @Test
  void version0ImagesAreWritable() throws Exception {
    VdiBytes v = VdiBytes.dynamic(4L * MB, MB);
    v.version = 0x00000002;
    v.allocate(0, 0);
    MemDevice file = new MemDevice(v.build());
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 2L * MB + 3, fill(5, 7));
    }
    ByteBuffer h = le(file.bytes());
    assertEquals(2, h.getInt(368), "v0 blocks_allocated at file offset 368");
    assertEquals(1, h.getInt(420 + 8), "v0 map right after the 348-byte header");
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertArrayEquals(fill(5, 7), TestSupport.read(img, 2L * MB + 3, 5));
      assertArrayEquals(VdiBytes.pattern(0, MB), TestSupport.read(img, 0, MB));
      assertTrue(img.check(CheckMode.REPORT).isClean());
    }
  }

  @Test
  void newBlocksLeaveTheirExtraAreaZeroed() throws Exception {
    for (int extra : new int[] {512, 8 << 20}) {
      VdiBytes v = VdiBytes.dynamic(4L * MB, MB);
      v.blockExtra = extra;
      v.allocate(0, 0);
      MemDevice file = new MemDevice(v.build());
      try (VdiImage img = TestSupport.open(file, false)) {
        TestSupport.write(img, 3L * MB + 100, fill(200, 9));
      }
      byte[] b = file.bytes();
      long start = v.effectiveDataOffset() + (long) extra + MB;
      assertEquals(start + extra + MB, b.length, "extra " + extra);
      byte[] block = Arrays.copyOfRange(b, (int) start, (int) (start + extra + MB));
      byte[] want = new byte[extra + MB];
      Arrays.fill(want, extra + 100, extra + 300, (byte) 9);
      assertArrayEquals(want, block, "extra " + extra);
      try (VdiImage img = TestSupport.open(b, true)) {
        assertArrayEquals(fill(200, 9), TestSupport.read(img, 3L * MB + 100, 200));
        assertArrayEquals(VdiBytes.pattern(0, MB), TestSupport.read(img, 0, MB));
        assertTrue(img.check(CheckMode.REPORT).isClean());
      }
    }
  }

  @Test
  void fixedImagesKeepTheirBlocksWhenZeroed() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "4M", "static", "on"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, MB, fill(MB, 3));
      img.discard(0, 4L * MB);
      assertArrayEquals(new byte[4 * MB], TestSupport.read(img, 0, 4 * MB));
      assertEquals(4, img.nextFreeBlock());
    }
    ByteBuffer h = le(file.bytes());
    for (int i = 0; i < 4; i++) {
      assertEquals(i, h.getInt(512 + 4 * i));
    }
    assertEquals(4096 + 4 * MB, file.size());
  }

  @Test
  void theLargestQemuSizeCanBeCreated() throws Exception {
    long max = 562949819203584L;
    byte[][] header = new byte[1][];
    long[] end = new long[1];
    io.blockkit.api.BlockDevice sink = new io.blockkit.api.AbstractBlockDevice(MemDevice.DRIVER,
        "sink", false, null) {
      @Override
      public long size() {
        return end[0];
      }

      @Override
      public java.util.Set<io.blockkit.api.Capability> capabilities() {
        return java.util.EnumSet.of(io.blockkit.api.Capability.WRITE,
            io.blockkit.api.Capability.GROW);
      }

      @Override
      protected void doRead(long offset, ByteBuffer dst) {
        throw new UnsupportedOperationException();
      }

      @Override
      protected void doWrite(long offset, ByteBuffer src) {
        if (offset == 0) {
          header[0] = new byte[src.remaining()];
          src.get(header[0]);
        }
        end[0] = Math.max(end[0], offset + src.remaining());
        src.position(src.limit());
      }
    };
    TestSupport.DRIVER.create(new io.blockkit.api.CreateRequest("max.vdi", sink,
        io.blockkit.api.options.Options.of(Map.of("size", Long.toString(max)),
            TestSupport.DRIVER.createOptions())));
    ByteBuffer h = le(header[0]);
    assertEquals(max, h.getLong(368));
    assertEquals(0x1fffff80, h.getInt(384));
    assertEquals(512 + 4L * 0x1fffff80, end[0]);
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> TestSupport.create(Map.of("size", Long.toString(max + 1))));
    assertTrue(e.getMessage().contains("562949819203584"), e.getMessage());
  }
}
