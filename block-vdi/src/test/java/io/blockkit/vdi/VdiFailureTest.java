package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.OpenRequest;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Failed child writes and racing requests must not cost acknowledged data or leave a crash image
 * whose blocks_allocated is below a block its map uses. "Crash" here is a copy of the child's
 * bytes taken at a chosen moment.
 */
class VdiFailureTest {
  private static final int MB = 1 << 20;
  /** Where created images keep their block map and data. */
  private static final long MAP = 512;
  private static final long DATA = 4096;

  private static byte[] fill(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  private static HookedDevice newImage(String size) throws IOException {
    return new HookedDevice(TestSupport.create(Map.of("size", size)));
  }

  private static VdiImage open(HookedDevice dev) throws IOException {
    return (VdiImage) TestSupport.DRIVER.open(OpenRequest.of("test.vdi", dev, false));
  }

  /** Fails the {@code nth} write of the block map from now on (and later ones if permanent). */
  private static HookedDevice.Hook failMapWrite(int nth, boolean permanent) {
    AtomicInteger seen = new AtomicInteger();
    return (kind, offset, length) -> {
      if (kind.equals("write") && offset == MAP) {
        int n = seen.incrementAndGet();
        if (n == nth || permanent && n > nth) {
          throw new IOException("test: map write #" + n + " failed");
        }
      }
    };
  }

  private static CheckReport checkCrashImage(byte[] crash) throws IOException {
    try (VdiImage img = TestSupport.open(crash, true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(0, r.corruptions(), r.messages().toString());
      return r;
    }
  }

  @Test
  void aFailedMapWriteIsRetriedBeforeAFlushSucceeds() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      TestSupport.write(img, 0, fill(MB, 1));
      dev.hook = failMapWrite(1, false);
      assertThrows(IOException.class, () -> TestSupport.write(img, MB, fill(MB, 2)));
      // The open image reads the block it allocated; this write goes in place, without metadata.
      TestSupport.write(img, MB + 100, fill(10, 3));
      img.flush();
    }
    byte[] want = fill(MB, 2);
    Arrays.fill(want, 100, 110, (byte) 3);
    byte[] crash = dev.mem.bytes();
    checkCrashImage(crash);
    try (VdiImage img = TestSupport.open(crash, true)) {
      assertArrayEquals(want, TestSupport.read(img, MB, MB), "flushed write lost");
    }
  }

  @Test
  void zeroesAfterAFailedDiscardAreDurableAfterAFlush() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      TestSupport.write(img, 0, fill(2 * MB, 1));
      img.flush();
      dev.hook = failMapWrite(1, false);
      assertThrows(IOException.class, () -> img.discard(MB, MB));
      // The open image already reads block 1 as zeros, so this request changes nothing there.
      img.writeZeroes(MB, MB);
      img.flush();
    }
    byte[] crash = dev.mem.bytes();
    checkCrashImage(crash);
    try (VdiImage img = TestSupport.open(crash, true)) {
      assertArrayEquals(new byte[MB], TestSupport.read(img, MB, MB), "flushed zeroes lost");
      assertArrayEquals(fill(MB, 1), TestSupport.read(img, 0, MB));
    }
  }

  @Test
  void aFlushFailsWhileMetadataCannotBeWritten() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      TestSupport.write(img, 0, fill(MB, 1));
      dev.hook = failMapWrite(1, true);
      assertThrows(IOException.class, () -> TestSupport.write(img, 3L * MB, fill(MB, 2)));
      assertThrows(IOException.class, img::flush);
      dev.hook = (kind, offset, length) -> { };
      img.flush();
    }
    byte[] crash = dev.mem.bytes();
    assertTrue(checkCrashImage(crash).isClean());
    try (VdiImage img = TestSupport.open(crash, true)) {
      assertArrayEquals(fill(MB, 2), TestSupport.read(img, 3L * MB, MB));
    }
  }

  @Test
  void closeWritesMetadataAFailedWriteLeftBehind() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      dev.hook = failMapWrite(1, false);
      assertThrows(IOException.class, () -> TestSupport.write(img, 2L * MB, fill(MB, 4)));
    }
    byte[] crash = dev.mem.bytes();
    assertTrue(checkCrashImage(crash).isClean());
    try (VdiImage img = TestSupport.open(crash, true)) {
      assertArrayEquals(fill(MB, 4), TestSupport.read(img, 2L * MB, MB));
    }
  }

  @Test
  void aFailedMoveKeepsWritesToTheMovedBlockDurable() throws Exception {
    HookedDevice dev = newImage("8M");
    byte[] want = fill(MB, 13);
    Arrays.fill(want, 5, 12, (byte) 99);
    try (VdiImage img = open(dev)) {
      for (int i = 0; i < 4; i++) {
        TestSupport.write(img, (long) i * MB, fill(MB, 10 + i));
      }
      img.flush();
      // Discarding block 1 writes its ZERO entry, then moves block 3 into the hole and fails to
      // write block 3's new entry.
      dev.hook = failMapWrite(2, false);
      assertThrows(IOException.class, () -> img.discard(MB, MB));
      TestSupport.write(img, 3L * MB + 5, fill(7, 99));
      img.flush();
      assertMovedBlockIntact(dev.mem.bytes(), want);
      // A new block must not go where the file's map may still keep block 3.
      TestSupport.write(img, 6L * MB, fill(MB, 16));
      assertMovedBlockIntact(dev.mem.bytes(), want);
    }
  }

  private static void assertMovedBlockIntact(byte[] crash, byte[] block3) throws IOException {
    checkCrashImage(crash);
    try (VdiImage img = TestSupport.open(crash, true)) {
      assertArrayEquals(block3, TestSupport.read(img, 3L * MB, MB), "flushed write lost");
      assertArrayEquals(fill(MB, 10), TestSupport.read(img, 0, MB));
      assertArrayEquals(fill(MB, 12), TestSupport.read(img, 2L * MB, MB));
    }
  }

  @Test
  void aFailedAllocationGivesItsBlockToTheNextOne() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      AtomicInteger dataWrites = new AtomicInteger();
      dev.hook = (kind, offset, length) -> {
        if (length == MB && dataWrites.incrementAndGet() == 1) {
          throw new IOException("test: data write failed");
        }
      };
      assertThrows(IOException.class, () -> TestSupport.write(img, 2L * MB, fill(MB, 2)));
      TestSupport.write(img, 5L * MB, fill(MB, 5));
      assertEquals(1, img.nextFreeBlock());
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
    }
    try (VdiImage img = TestSupport.open(dev.mem.bytes(), true)) {
      assertEquals(1, img.header.blocksAllocated);
      assertArrayEquals(fill(MB, 5), TestSupport.read(img, 5L * MB, MB));
      assertArrayEquals(new byte[MB], TestSupport.read(img, 2L * MB, MB));
    }
  }

  /**
   * A request that only changes an entry (here FREE to ZERO) writes its map sector, which also
   * carries the entry of a block another request has just allocated and not yet committed: the
   * header's count must be raised before that sector is written.
   */
  @Test
  void aMapSectorIsNeverWrittenAheadOfTheCountItNeeds() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      TestSupport.write(img, 0, fill(MB, 1));
      // The data of physical block 2: the second new block of the request below.
      HeldDataWrite hold = new HeldDataWrite(dev, 2);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread writer = new Thread(() -> run(failure,
          () -> TestSupport.write(img, MB, fill(2 * MB, 5))));
      writer.start();
      await(hold.held);
      img.writeZeroes(5L * MB, MB);
      byte[] crash = dev.mem.bytes();
      hold.release.countDown();
      writer.join();
      assertEquals(null, failure.get());
      checkCrashImage(crash);
    }
  }

  /**
   * An entry a concurrent request sets while another writes its header and map sectors cannot
   * reach the file with a count that does not cover it.
   */
  @Test
  void theCountIsTakenAfterTheMapSectorsItCovers() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      TestSupport.write(img, 0, fill(MB, 1));
      CountDownLatch firstHeld = new CountDownLatch(1);
      CountDownLatch releaseFirst = new CountDownLatch(1);
      AtomicReference<byte[]> crash = new AtomicReference<>();
      AtomicInteger headers = new AtomicInteger();
      dev.hook = (kind, offset, length) -> {
        if (kind.equals("write") && offset == 0) {
          if (headers.incrementAndGet() == 1) {
            firstHeld.countDown();
            await(releaseFirst);
          } else if (crash.get() == null) {
            // Before the second request's header: the first one's header and map are written.
            crash.set(dev.mem.bytes());
          }
        }
      };
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread first = new Thread(() -> run(failure, () -> TestSupport.write(img, MB, fill(MB, 5))));
      Thread second = new Thread(() -> run(failure,
          () -> TestSupport.write(img, 2L * MB, fill(MB, 6))));
      first.start();
      await(firstHeld);
      second.start();
      // The second request allocates while the first one writes its metadata: it either sets
      // its entry then, or (as now) waits to set it until that write is done.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!BlockMap.isAllocated(img.map.get(2)) && second.getState() != Thread.State.WAITING
          && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      releaseFirst.countDown();
      first.join();
      second.join();
      assertEquals(null, failure.get());
      assertNotNull(crash.get());
      checkCrashImage(crash.get());
    }
  }

  /**
   * A write into a block another request has allocated but not committed yet is acknowledged; a
   * flush after it must write that block's entry, or a crash loses the flushed write.
   */
  @Test
  void aFlushWritesEntriesOfAllocationsStillInProgress() throws Exception {
    HookedDevice dev = newImage("8M");
    try (VdiImage img = open(dev)) {
      TestSupport.write(img, 0, fill(MB, 1));
      // The data of physical block 2: the second new block of the request below.
      HeldDataWrite hold = new HeldDataWrite(dev, 2);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread allocator = new Thread(() -> run(failure,
          () -> TestSupport.write(img, 2L * MB, fill(2 * MB, 2))));
      allocator.start();
      await(hold.held);
      // Block 2 is published; the request that allocated it has not committed.
      TestSupport.write(img, 2L * MB + 10, fill(5, 7));
      img.flush();
      byte[] crash = dev.mem.bytes();
      hold.release.countDown();
      allocator.join();
      assertEquals(null, failure.get());
      checkCrashImage(crash);
      byte[] want = fill(MB, 2);
      Arrays.fill(want, 10, 15, (byte) 7);
      try (VdiImage after = TestSupport.open(crash, true)) {
        assertArrayEquals(want, TestSupport.read(after, 2L * MB, MB), "flushed write lost");
      }
    }
  }

  /**
   * Holds the data write of physical block {@code phys} until released: the request that makes
   * it is caught between allocating the block and committing its metadata.
   */
  private static final class HeldDataWrite {
    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    HeldDataWrite(HookedDevice dev, long phys) {
      dev.hook = (kind, offset, length) -> {
        if (kind.equals("write") && offset == DATA + phys * MB) {
          held.countDown();
          await(release);
        }
      };
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }

  private static void run(AtomicReference<Throwable> failure, IoAction action) {
    try {
      action.run();
    } catch (Throwable t) {
      failure.set(t);
    }
  }

  private static void await(CountDownLatch latch) throws IOException {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new IOException("test: timed out waiting for the other thread");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
