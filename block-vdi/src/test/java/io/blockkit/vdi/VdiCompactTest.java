package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compaction (VBoxManage modifymedium --compact, the format reference section 1.11): blocks of
 * zeros become ZERO, blocks a differencing image holds as its parent does become FREE, data moves
 * into the holes and the file shrinks, with the content unchanged; a crash at every write leaves
 * an image check repairs without loss; readers running during a compaction read correct data.
 */
class VdiCompactTest {
  private static final int KB512 = 512 << 10;

  /**
   * 16 blocks of 512 KiB, physically in allocation order: data in 1, 4, 9, 14; zeros stored in 3,
   * 6, 11 (allocated, then overwritten with zeros); 7 discarded after being written.
   */
  private static MemDevice withZeroBlocks() throws IOException {
    MemDevice file = TestSupport.create(Map.of("size", "8M", "block_size", "512K"));
    try (VdiImage img = TestSupport.open(file, false)) {
      for (int b : new int[] {3, 1, 6, 4, 7, 11, 9, 14}) {
        TestSupport.write(img, (long) b * KB512, VdiBytes.pattern(b, KB512));
      }
      for (int b : new int[] {3, 6, 11}) {
        // In two parts: a write of zeros over a whole allocated block stays in place.
        TestSupport.write(img, (long) b * KB512, new byte[100]);
        TestSupport.write(img, (long) b * KB512 + 100, new byte[KB512 - 100]);
      }
      img.discard(7L * KB512, KB512);
      assertEquals(7L, img.info().formatSpecific().get("blocks-allocated"));
    }
    return new MemDevice(file.bytes());
  }

  private static byte[] expected() {
    byte[] e = new byte[16 * KB512];
    for (int b : new int[] {1, 4, 9, 14}) {
      System.arraycopy(VdiBytes.pattern(b, KB512), 0, e, b * KB512, KB512);
    }
    return e;
  }

  @Test
  void zeroBlocksGoDataFillsTheHolesTheFileShrinks() throws IOException {
    MemDevice file = withZeroBlocks();
    long before = file.size();
    try (VdiImage img = TestSupport.open(file, false)) {
      img.compact();
      assertArrayEquals(expected(), TestSupport.read(img, 0, 16 * KB512));
      assertEquals(4L, img.info().formatSpecific().get("blocks-allocated"));
      for (int b : new int[] {3, 6, 7, 11}) {
        assertEquals(BlockMap.ZERO, img.map.get(b), "block " + b);
      }
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(0, r.corruptions() + r.leaks(), r.messages().toString());
    }
    byte[] after = file.bytes();
    assertTrue(after.length < before, after.length + " vs " + before);
    assertEquals(4096 + 4L * KB512, after.length, "header and map, then four blocks");
    int[] entries = new int[16];
    for (int b = 0; b < 16; b++) {
      entries[b] = Chains.entry(after, b);
    }
    long distinct = Arrays.stream(entries).filter(BlockMap::isAllocated).distinct()
        .filter(p -> p < 4).count();
    assertEquals(4, distinct, "the four data blocks use physical blocks 0..3: "
        + Arrays.toString(entries));
  }

  @Test
  void aCrashAtEveryWriteLeavesAnImageRepairKeeps() throws IOException {
    byte[] start = withZeroBlocks().bytes();
    byte[] content = expected();
    int points = CrashPoints.everyWrite(start, VdiImage::compact, content, content);
    assertTrue(points > 6, "only " + points + " crash points");
  }

  @Test
  void readersDuringACompactionReadCorrectData() throws Exception {
    byte[] content = expected();
    HookedDevice slow = new HookedDevice(withZeroBlocks());
    // Every change of the file takes a while, so that the readers meet every stage.
    slow.hook = (kind, offset, length) -> sleep();
    try (VdiImage img = (VdiImage) TestSupport.DRIVER.open(
        io.blockkit.api.OpenRequest.of("slow.vdi", slow, false))) {
      AtomicBoolean compacting = new AtomicBoolean(true);
      java.util.concurrent.atomic.AtomicInteger during =
          new java.util.concurrent.atomic.AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(3);
      try {
        List<Future<?>> readers = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          int seed = t;
          readers.add(pool.submit(() -> {
            java.util.Random r = new java.util.Random(seed);
            while (compacting.get()) {
              int off = r.nextInt(content.length - 1);
              int len = 1 + r.nextInt(Math.min(content.length - off, 3 * KB512));
              ByteBuffer b = ByteBuffer.allocate(len);
              img.read(off, b);
              if (!Arrays.equals(b.array(), 0, len, content, off, off + len)) {
                throw new AssertionError("a read at " + off + "+" + len + " during compaction");
              }
              if (compacting.get()) {
                during.incrementAndGet();
              }
            }
            return null;
          }));
        }
        img.compact();
        compacting.set(false);
        for (Future<?> f : readers) {
          f.get();
        }
      } finally {
        compacting.set(false);
        pool.shutdownNow();
      }
      assertTrue(during.get() > 10, "only " + during.get() + " reads overlapped the compaction");
      assertArrayEquals(content, TestSupport.read(img, 0, content.length));
      assertEquals(4L, img.info().formatSpecific().get("blocks-allocated"));
    }
  }

  private static void sleep() throws java.io.InterruptedIOException {
    try {
      Thread.sleep(5);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException();
    }
  }

  @Test
  void aFixedImageIsNotCompacted() throws IOException {
    try (VdiImage img = TestSupport.open(TestSupport.create(Map.of("size", "2M",
        "static", "on")), false)) {
      UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
          img::compact);
      assertTrue(e.getMessage().contains("fixed"), e.getMessage());
    }
  }

  /** In a differencing image, blocks equal to the parent's go back to it (FREE); zeros stay ZERO. */
  @Test
  void aDifferencingImageGivesBlocksEqualToItsParentBack(@TempDir Path dir) throws IOException {
    Chains c = new Chains(dir);
    c.putBase("base.vdi", 4, KB512);
    c.create("child.vdi", Map.of("backing_file", "base.vdi", "block_size", "512K"));
    byte[] expected;
    try (BlockDevice d = c.open("child.vdi", false)) {
      d.write(0, ByteBuffer.wrap(VdiBytes.pattern(0, KB512))); // equal to the parent's
      d.write(KB512, ByteBuffer.wrap(VdiBytes.pattern(77, KB512))); // its own
      d.write(2L * KB512 + 1, ByteBuffer.wrap(new byte[KB512 - 1])); // copy-on-write...
      d.write(2L * KB512, ByteBuffer.wrap(new byte[1])); // ...then all zeros
      expected = Chains.readAll(d);
      assertEquals(3L, d.info().formatSpecific().get("blocks-allocated"));
      d.compact();
      assertArrayEquals(expected, Chains.readAll(d));
      assertEquals(1L, d.info().formatSpecific().get("blocks-allocated"));
    }
    byte[] f = c.get("child.vdi");
    assertEquals(BlockMap.FREE, Chains.entry(f, 0), "equal to the parent: FREE");
    assertEquals(BlockMap.ZERO, Chains.entry(f, 2), "zeros: ZERO, never FREE (gh-850)");
    try (BlockDevice d = c.open("child.vdi", true)) {
      assertArrayEquals(expected, Chains.readAll(d));
    }
  }
}
