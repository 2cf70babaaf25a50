package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The block map's memory bound: clean pages are dropped, changed ones never lost. */
class BlockMapTest {
  private static final int ENTRIES = 64;
  private static final int MAP_OFFSET = 512;

  /** A file whose map holds entry i = i * 3 (little-endian). */
  private static MemDevice file() {
    ByteBuffer b = ByteBuffer.allocate(MAP_OFFSET + 4 * ENTRIES).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < ENTRIES; i++) {
      b.putInt(MAP_OFFSET + 4 * i, i * 3);
    }
    return new MemDevice(b.array());
  }

  private static int onDisk(MemDevice file, int index) {
    return ByteBuffer.wrap(file.bytes()).order(ByteOrder.LITTLE_ENDIAN)
        .getInt(MAP_OFFSET + 4 * index);
  }

  @Test
  void scansKeepAtMostTheCacheLimitOfCleanPages() throws Exception {
    // 16 pages of 4 entries, 2 kept.
    BlockMap map = new BlockMap(file(), MAP_OFFSET, ENTRIES, 2, 2);
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < ENTRIES; i++) {
        assertEquals(i * 3, map.get(i));
        assertTrue(map.pagesInMemory() <= 2, "pages held: " + map.pagesInMemory());
      }
    }
    BlockMap.Cursor c = map.cursor();
    for (int i = ENTRIES - 1; i >= 0; i--) {
      assertEquals(i * 3, c.get(i));
    }
    assertTrue(map.pagesInMemory() <= 2);
  }

  @Test
  void changedPagesArePinnedUntilWrittenAndReleased() throws Exception {
    MemDevice file = file();
    BlockMap map = new BlockMap(file, MAP_OFFSET, ENTRIES, 2, 1);
    map.set(5, BlockMap.ZERO);
    map.set(40, 7);
    for (int i = 0; i < ENTRIES; i++) {
      map.get(i);
    }
    // Dropping the two changed pages would have read the old entries back from the file.
    assertEquals(BlockMap.ZERO, map.get(5));
    assertEquals(7, map.get(40));
    assertEquals(15, onDisk(file, 5));
    assertTrue(map.pagesInMemory() <= 3, "1 clean + 2 pinned, held: " + map.pagesInMemory());

    map.write(map.sectors(5, 5));
    map.write(map.sectors(40, 40));
    map.releasePinned();
    for (int i = 0; i < ENTRIES; i++) {
      map.get(i);
    }
    assertTrue(map.pagesInMemory() <= 1, "released pages are dropped: " + map.pagesInMemory());
    assertEquals(BlockMap.ZERO, onDisk(file, 5));
    assertEquals(BlockMap.ZERO, map.get(5));
    assertEquals(7, map.get(40));
  }

  @Test
  void unallocatedRunsCrossPages() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(MAP_OFFSET + 4 * ENTRIES).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < ENTRIES; i++) {
      b.putInt(MAP_OFFSET + 4 * i, i % 2 == 0 ? BlockMap.FREE : BlockMap.ZERO);
    }
    b.putInt(MAP_OFFSET + 4 * 37, 0);
    BlockMap map = new BlockMap(new MemDevice(b.array()), MAP_OFFSET, ENTRIES, 2, 1);
    assertEquals(37, map.unallocatedRun(0, 100));
    assertEquals(10, map.unallocatedRun(3, 10));
    assertEquals(0, map.unallocatedRun(37, 5));
    assertEquals(ENTRIES - 38, map.unallocatedRun(38, 100));
  }

  @Test
  void concurrentSettersNeverLoseAnEntryWhilePagesAreDropped() throws Exception {
    int threads = 4;
    for (int round = 0; round < 50; round++) {
      MemDevice file = file();
      BlockMap map = new BlockMap(file, MAP_OFFSET, ENTRIES, 2, 1);
      ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
      try {
        List<Future<?>> done = new ArrayList<>();
        // A scanner keeps dropping and loading clean pages...
        done.add(pool.submit(() -> {
          for (int k = 0; k < 20; k++) {
            for (int i = 0; i < ENTRIES; i++) {
              map.get(i);
            }
          }
          return null;
        }));
        // ...while each setter changes its own entries (index % threads == t).
        for (int t = 0; t < threads; t++) {
          int id = t;
          done.add(pool.submit(() -> {
            for (int i = id; i < ENTRIES; i += threads) {
              map.set(i, 1000 + i);
            }
            return null;
          }));
        }
        for (Future<?> f : done) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      for (int i = 0; i < ENTRIES; i++) {
        assertEquals(1000 + i, map.get(i), "round " + round + ", entry " + i);
      }
      map.write(map.sectors(0, ENTRIES - 1));
      for (int i = 0; i < ENTRIES; i++) {
        assertEquals(1000 + i, onDisk(file, i), "round " + round + ", entry " + i + " on disk");
      }
    }
  }
}
