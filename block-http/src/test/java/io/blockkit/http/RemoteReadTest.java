package io.blockkit.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import io.blockkit.testkit.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the block cache does for a remote image, counted in the requests the in-test server sees:
 * probing a format costs a few requests, sequential reads fetch ahead and each block once, big
 * reads fetch in parallel, readers of one block share its fetch, and the cache stays bounded.
 */
class RemoteReadTest {
  private static final int MIB = RemoteOptions.BLOCK_SIZE;

  private final BlockRegistry registry;
  private TestServer server;
  private byte[] content;

  RemoteReadTest() throws IOException {
    registry = BlockRegistry.load();
  }

  @BeforeEach
  void start() throws IOException {
    content = new byte[8 * MIB + 512];
    new Random(11).nextBytes(content);
    server = new TestServer(content);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private BlockDevice open(Map<String, String> options) throws IOException {
    Map<String, String> file = new LinkedHashMap<>();
    options.forEach((k, v) -> file.put("file." + k, v));
    return registry.open(server.url("disk.img"), OpenParams.readOnlyDefaults()
        .withFormat("raw").withOptions(file).withWarnings(w -> { }));
  }

  private static byte[] read(BlockDevice d, long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }

  private byte[] expected(long offset, int n) {
    byte[] out = new byte[n];
    System.arraycopy(content, (int) offset, out, 0, n);
    return out;
  }

  /** The GETs after open's one-byte request, as block numbers. */
  private List<Long> blocksFetched() {
    List<Long> out = new ArrayList<>();
    for (String r : server.requests.subList(1, server.requests.size())) {
      long first = Long.parseLong(r.substring(0, r.indexOf('-')));
      assertEquals(0, first % MIB, "a fetch not on a block boundary: " + r);
      out.add(first / MIB);
    }
    return out;
  }

  @Test
  void probingAVdiOverHttpReadsTheHeadAndTheTailOnce() throws IOException {
    byte[] vdi;
    byte[] virtual = new byte[6 * MIB];
    try (Storage storage = Storage.memory(registry)) {
      registry.create(storage.location("disk.vdi"), "vdi", Map.of("size", "6M"));
      try (BlockDevice d = registry.open(storage.location("disk.vdi"),
          OpenParams.defaults().withWarnings(w -> { }))) {
        for (int block : new int[] {4, 0, 2}) {
          byte[] data = new byte[MIB];
          new Random(block).nextBytes(data);
          d.write((long) block * MIB, ByteBuffer.wrap(data));
          System.arraycopy(data, 0, virtual, block * MIB, MIB);
        }
        d.flush();
      }
      vdi = storage.get("disk.vdi");
    }
    assertTrue(vdi.length > 3 * MIB, "the VDI is " + vdi.length + " bytes");
    server.content = vdi;
    try (BlockDevice d = registry.open(server.url("disk.vdi"),
        OpenParams.readOnlyDefaults().withWarnings(w -> { }))) {
      assertEquals("vdi", d.driver().name());
      assertEquals(List.of(0L, (long) (vdi.length - 1) / MIB), blocksFetched(),
          "probing and opening fetch the first and the last block, once each");
      ByteBuffer all = ByteBuffer.allocate(virtual.length);
      d.read(0, all);
      assertArrayEquals(virtual, all.array());
    }
  }

  @Test
  void sequentialReadsFetchAheadAndEachBlockOnce() throws Exception {
    try (BlockDevice d = open(Map.of("readahead", "4M"))) {
      for (long off = 0; off < content.length; off += 64 * 1024) {
        int n = (int) Math.min(64 * 1024, content.length - off);
        assertArrayEquals(expected(off, n), read(d, off, n), "at " + off);
      }
      List<Long> fetched = blocksFetched();
      assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L),
          fetched.stream().sorted().toList(), "fetched " + fetched);
    }
  }

  @Test
  void readaheadRunsAheadOfTheReader() throws Exception {
    try (BlockDevice d = open(Map.of("readahead", "3M"))) {
      read(d, 0, 4096);
      read(d, 4096, 4096); // continues the previous read: sequential
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (blocksFetched().size() < 4 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(List.of(0L, 1L, 2L, 3L), blocksFetched().stream().sorted().toList());
    }
  }

  @Test
  void randomReadsDoNotReadAhead() throws Exception {
    try (BlockDevice d = open(Map.of("readahead", "4M"))) {
      for (long block : new long[] {5, 1, 7, 3}) {
        long off = block * MIB + 1000;
        assertArrayEquals(expected(off, 100), read(d, off, 100));
      }
      Thread.sleep(200); // any readahead would have been sent by now
      assertEquals(List.of(5L, 1L, 7L, 3L), blocksFetched());
    }
  }

  @Test
  void aBigReadFetchesItsBlocksInParallel() throws Exception {
    server.delayMillis = 300;
    try (BlockDevice d = open(Map.of("readahead", "0", "parallel", "4"))) {
      assertArrayEquals(expected(MIB / 2, 4 * MIB), read(d, MIB / 2, 4 * MIB));
      assertEquals(4, server.mostInFlight.get(), "requests in flight at most");
      assertEquals(5, blocksFetched().size());
    }
  }

  @Test
  void readersOfOneMissingBlockShareOneFetch() throws Exception {
    server.delayMillis = 300;
    try (BlockDevice d = open(Map.of("readahead", "0"))) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Callable<byte[]>> readers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          int off = 3 * MIB + i * 1000;
          readers.add(() -> read(d, off, 500));
        }
        List<Future<byte[]>> results = pool.invokeAll(readers);
        for (int i = 0; i < 8; i++) {
          assertArrayEquals(expected(3 * MIB + i * 1000, 500), results.get(i).get());
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(List.of(3L), blocksFetched());
    }
  }

  @Test
  void theCacheKeepsAtMostItsSize() throws Exception {
    try (BlockDevice d = open(Map.of("readahead", "0", "cache-size", "2M"))) {
      for (long block : new long[] {0, 1, 0, 2, 0, 3, 1}) {
        long off = block * MIB;
        assertArrayEquals(expected(off, 10), read(d, off, 10));
      }
      // 0 and 1 fit; 2 evicts 1 (0 was used more recently); 3 evicts 2; 1 is fetched again
      assertEquals(List.of(0L, 1L, 2L, 3L, 1L), blocksFetched());
    }
  }

  /**
   * Evicted blocks' arrays are fetched into again: eight readers of random ranges through a
   * two-block cache evict and refill constantly, and every byte they copy must still be right (a
   * block must not be refilled while a reader copies from it).
   */
  @Test
  void concurrentReadersThroughATinyCacheSeeTheRightBytes() throws Exception {
    try (BlockDevice d = open(Map.of("readahead", "0", "cache-size", "2M", "parallel", "3"))) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Callable<Void>> readers = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          Random r = new Random(100 + t);
          readers.add(() -> {
            for (int i = 0; i < 150; i++) {
              int n = 1 + r.nextInt(3 * MIB / 2);
              long off = r.nextInt(content.length - n + 1);
              assertArrayEquals(expected(off, n), read(d, off, n), n + " bytes at " + off);
            }
            return null;
          });
        }
        for (Future<Void> f : pool.invokeAll(readers)) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      assertTrue(blocksFetched().size() > 9, "the cache was not exercised: "
          + blocksFetched().size() + " fetches");
    }
  }
}
