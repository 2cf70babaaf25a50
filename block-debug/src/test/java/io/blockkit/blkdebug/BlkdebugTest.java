package io.blockkit.blkdebug;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.ReadOnlyException;
import io.blockkit.api.options.Options;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BlkdebugTest {
  private final BlkdebugDriver driver = new BlkdebugDriver();

  private BlockDevice open(MemoryNode child, String options) throws IOException {
    return open(child, options, false);
  }

  private BlockDevice open(MemoryNode child, String options, boolean readOnly) throws IOException {
    return driver.open(new OpenRequest("top", child, Options.parse(options, driver.openOptions()),
        readOnly, false, null, w -> { }));
  }

  private static void write(BlockDevice d, long offset, int length, int value) throws IOException {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) value);
    d.write(offset, ByteBuffer.wrap(b));
  }

  private static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }

  private static long counter(BlockDevice d, String key) throws IOException {
    return ((Number) d.info().formatSpecific().get(key)).longValue();
  }

  @Test
  void isAFilterWithDocumentedOptions() {
    assertEquals("blkdebug", driver.name());
    assertEquals(DriverKind.FILTER, driver.kind());
    assertEquals(List.of("fail-read", "fail-write", "fail-flush", "fail-after-bytes",
        "power-loss-after-writes", "once"),
        driver.openOptions().stream().map(s -> s.name()).toList());
  }

  @Test
  void withoutOptionsEverythingPassesThrough() throws Exception {
    MemoryNode child = new MemoryNode(4096);
    try (BlockDevice d = open(child, "")) {
      for (int i = 0; i < 50; i++) {
        write(d, i * 10, 10, i);
        assertArrayEquals(read(child, i * 10, 10), read(d, i * 10, 10));
        d.flush();
      }
      assertEquals(50, child.writes.get());
      assertEquals(50, child.flushes.get());
      assertEquals(4096, d.size());
      assertEquals(child.capabilities(), d.capabilities());
      assertEquals(50L, counter(d, "writes"));
      assertEquals(500L, counter(d, "bytes-written"));
      assertEquals(0L, counter(d, "injected-faults"));
      assertEquals("mem-test", d.location());
    }
    assertTrue(child.writes.get() == 50);
  }

  @Test
  void failReadFailsTheNthAndLaterReads() throws Exception {
    try (BlockDevice d = open(new MemoryNode(4096), "fail-read=2")) {
      read(d, 0, 1);
      InjectedFaultException e = assertThrows(InjectedFaultException.class, () -> read(d, 7, 3));
      assertTrue(e.getMessage().contains("Injected") && e.getMessage().contains("fail-read=2")
          && e.getMessage().contains("read #2") && e.getMessage().contains("mem-test"),
          e.getMessage());
      assertInstanceOf(BlockException.class, e);
      assertThrows(InjectedFaultException.class, () -> read(d, 0, 1));
      assertEquals(2L, counter(d, "injected-faults"));
    }
  }

  @Test
  void onceFailsOnlyTheNthRequest() throws Exception {
    MemoryNode child = new MemoryNode(4096);
    try (BlockDevice d = open(child, "fail-read=1,fail-write=2,fail-flush=1,once=on")) {
      assertThrows(InjectedFaultException.class, () -> read(d, 0, 1));
      read(d, 0, 1);
      write(d, 0, 1, 1);
      assertThrows(InjectedFaultException.class, () -> write(d, 1, 1, 2));
      write(d, 2, 1, 3);
      assertThrows(InjectedFaultException.class, d::flush);
      d.flush();
      assertArrayEquals(new byte[] {1, 0, 3}, read(child, 0, 3));
    }
  }

  @Test
  void failWriteLeavesTheChildUntouchedAndCountsEveryModifyingRequest() throws Exception {
    MemoryNode child = new MemoryNode(4096);
    try (BlockDevice d = open(child, "fail-write=4")) {
      write(d, 0, 8, 0x11);
      d.writeZeroes(0, 2);
      d.discard(0, 1);
      InjectedFaultException e = assertThrows(InjectedFaultException.class,
          () -> write(d, 100, 8, 0x22));
      assertTrue(e.getMessage().contains("write #4") && e.getMessage().contains("offset 100"),
          e.getMessage());
      assertThrows(InjectedFaultException.class, () -> d.writeZeroes(4, 4));
      assertArrayEquals(new byte[8], read(child, 100, 8));
      assertArrayEquals(new byte[] {0, 0, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}, read(child, 0, 8));
    }
  }

  @Test
  void failFlushDoesNotFlushTheChild() throws Exception {
    MemoryNode child = new MemoryNode(64);
    try (BlockDevice d = open(child, "fail-flush=1")) {
      assertThrows(InjectedFaultException.class, d::flush);
      assertEquals(0, child.flushes.get());
    }
  }

  @Test
  void failAfterBytesActsLikeAFullDisk() throws Exception {
    MemoryNode child = new MemoryNode(4096);
    try (BlockDevice d = open(child, "fail-after-bytes=1k")) {
      write(d, 0, 600, 1);
      write(d, 600, 424, 2);
      InjectedFaultException e = assertThrows(InjectedFaultException.class,
          () -> write(d, 1024, 1, 3));
      assertTrue(e.getMessage().contains("fail-after-bytes=1024"), e.getMessage());
      assertThrows(InjectedFaultException.class, () -> d.writeZeroes(2000, 10));
      d.discard(0, 10);
      assertEquals(0, read(child, 1024, 1)[0]);
      assertEquals(1024L, counter(d, "bytes-written"));
    }
  }

  @Test
  void failAfterBytesOnceFailsTheFirstOverflowingWriteOnly() throws Exception {
    MemoryNode child = new MemoryNode(4096);
    try (BlockDevice d = open(child, "fail-after-bytes=10,once=on")) {
      assertThrows(InjectedFaultException.class, () -> write(d, 0, 11, 1));
      write(d, 0, 11, 1);
      write(d, 11, 11, 1);
      assertEquals(22L, counter(d, "bytes-written"));
    }
  }

  @Test
  void powerLossDropsLaterWritesButReportsSuccess() throws Exception {
    MemoryNode child = new MemoryNode(4096);
    try (BlockDevice d = open(child, "power-loss-after-writes=2")) {
      write(d, 0, 4, 1);
      write(d, 4, 4, 2);
      write(d, 8, 4, 3);
      d.writeZeroes(0, 4);
      d.discard(4, 4);
      d.truncate(10);
      d.flush();
      write(d, 5000, 4, 4);
      assertArrayEquals(new byte[] {1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0}, read(d, 0, 12));
      assertEquals(4096, d.size());
      assertEquals(2, child.writes.get());
      assertEquals(0, child.flushes.get());
      assertEquals(5L, counter(d, "dropped-writes"));
      assertEquals(7L, counter(d, "writes"));
    }
  }

  @Test
  void powerLossAfterZeroWritesNothing() throws Exception {
    MemoryNode child = new MemoryNode(16);
    try (BlockDevice d = open(child, "power-loss-after-writes=0")) {
      write(d, 0, 16, 9);
      assertArrayEquals(new byte[16], read(d, 0, 16));
    }
    assertEquals(0, child.writes.get());
  }

  @Test
  void flushBeforePowerLossReachesTheChild() throws Exception {
    MemoryNode child = new MemoryNode(16);
    try (BlockDevice d = open(child, "power-loss-after-writes=1")) {
      write(d, 0, 1, 9);
      d.flush();
      assertEquals(1, child.flushes.get());
    }
  }

  @Test
  void readOnlyNodeRejectsWritesBeforeCountingThem() throws Exception {
    MemoryNode child = new MemoryNode(16);
    try (BlockDevice d = open(child, "fail-write=1", true)) {
      assertThrows(ReadOnlyException.class, () -> write(d, 0, 1, 1));
      assertEquals(0L, counter(d, "writes"));
    }
  }

  @Test
  void negativeRequestNumbersAreRejectedNamingTheOption() {
    for (String key : List.of("fail-read", "fail-write", "fail-flush", "power-loss-after-writes")) {
      InvalidOptionException e = assertThrows(InvalidOptionException.class,
          () -> open(new MemoryNode(16), key + "=-1"));
      assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
    }
  }

  @Test
  void unknownOptionListsTheValidOnes() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> open(new MemoryNode(16), "fail-reads=1"));
    assertTrue(e.getMessage().contains("fail-read, fail-write"), e.getMessage());
  }

  @Test
  void needsAChild() {
    assertThrows(InvalidOptionException.class, () -> driver.open(OpenRequest.of("x", null,
        false)));
  }

  @Test
  void isRegisteredAsAService() throws Exception {
    BlockDriver found = BlockRegistry.load().driver("blkdebug");
    assertInstanceOf(BlkdebugDriver.class, found);
  }

  @Test
  void stacksBetweenAFormatAndAProtocolThroughTheRegistry() throws Exception {
    MemoryNode.Protocol mem = new MemoryNode.Protocol();
    BlockRegistry r = BlockRegistry.of(mem, new MemoryNode.PassFormat(), driver);
    Map<String, String> opts = Map.of("driver", "passfmt", "file.driver", "blkdebug",
        "file.power-loss-after-writes", "1", "file.file.filename", "mem:disk");
    try (BlockDevice d = r.open(opts, OpenParams.defaults().withWarnings(w -> { }))) {
      BlockDevice filter = d.child().orElseThrow();
      assertSame(driver, filter.driver());
      write(d, 0, 2, 7);
      write(d, 2, 2, 8);
    }
    assertArrayEquals(new byte[] {7, 7, 0, 0}, Arrays.copyOf(mem.nodes.get("disk").bytes(), 4));
  }

  @Test
  void explicitBlkdebugFormatSitsDirectlyOnTheProtocol() throws Exception {
    MemoryNode.Protocol mem = new MemoryNode.Protocol();
    BlockRegistry r = BlockRegistry.of(mem, driver);
    try (BlockDevice d = r.open("mem:x", OpenParams.defaults().withFormat("blkdebug")
        .withOptions(Map.of("fail-read", "1")))) {
      assertThrows(InjectedFaultException.class, () -> read(d, 0, 1));
    }
  }

  @Test
  void concurrentWritersNeverPassMoreThanTheAllowedWrites() throws Exception {
    int threads = 8;
    for (int round = 0; round < 20; round++) {
      MemoryNode child = new MemoryNode(threads * 100);
      int allowed = round * 3;
      CyclicBarrier start = new CyclicBarrier(threads);
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try (BlockDevice d = open(child, "power-loss-after-writes=" + allowed)) {
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int id = t;
          fs.add(pool.submit(() -> {
            start.await();
            for (int i = 0; i < 10; i++) {
              write(d, id * 100 + i, 1, 1);
            }
            return null;
          }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
        assertEquals(Math.min(allowed, threads * 10), child.writes.get());
        assertEquals(threads * 10L, counter(d, "writes"));
      } finally {
        pool.shutdownNow();
      }
    }
  }

  record Write(int offset, int length, int value) {}

  @Provide
  Arbitrary<List<Write>> writes() {
    return Combinators.combine(Arbitraries.integers().between(0, 255),
        Arbitraries.integers().between(1, 64), Arbitraries.integers().between(1, 255))
        .as(Write::new).list().ofMaxSize(30);
  }

  /** The persisted state after power loss is exactly the first N writes applied in order. */
  @Property(tries = 200)
  void crashStateIsThePrefixOfTheWrites(@ForAll("writes") List<Write> ops,
      @ForAll @IntRange(min = 0, max = 32) int n) throws Exception {
    MemoryNode child = new MemoryNode(320);
    byte[] model = new byte[320];
    try (BlockDevice d = open(child, "power-loss-after-writes=" + n)) {
      for (int i = 0; i < ops.size(); i++) {
        Write w = ops.get(i);
        write(d, w.offset(), w.length(), w.value());
        if (i < n) {
          Arrays.fill(model, w.offset(), w.offset() + w.length(), (byte) w.value());
        }
      }
      assertArrayEquals(model, read(d, 0, 320));
    }
    assertArrayEquals(model, child.bytes());
  }
}
