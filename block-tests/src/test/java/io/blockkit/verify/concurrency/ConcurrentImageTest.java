package io.blockkit.verify.concurrency;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.DriverFeature;
import io.blockkit.verify.Images;
import io.blockkit.verify.PhysicalBlocks;
import io.blockkit.verify.Stress;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import io.blockkit.verify.formats.Variant;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToIntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Many threads on one fresh image of every format under test, checked against a model after every
 * round: no cluster allocated twice (check is clean, and the format's integrity checks hold; for
 * VDI, blocks-allocated equals the number of distinct physical blocks in use), no write lost (every
 * byte belongs to a writer whose range covers it), and data that discards move (VDI compacts the
 * image under its exclusive layout lock when whole blocks are discarded or zeroed) never reads
 * wrong. QEMU needed 10 to 161 runs to hit its VDI allocation race (Launchpad 1661758), so each
 * test runs many rounds; {@code -Pstress} runs ten times more. A failure names the format, the
 * round and the seed ({@code -Dblockkit.seed=N} repeats it).
 */
class ConcurrentImageTest {
  private static final int WRITERS = 16;
  private static ExecutorService pool;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startPool() {
    pool = Executors.newFixedThreadPool(WRITERS + 4);
  }

  @AfterAll
  static void stopPool() throws InterruptedException {
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
  }

  /** One format variant, over memory or a file, and how many rounds to run. */
  record Case(FormatUnderTest format, Variant variant, boolean onFile, int rounds,
      int stressRounds) {
    int bs() {
      return Math.toIntExact(variant.clusterSize());
    }

    int effectiveRounds() {
      return Stress.iterations(rounds, stressRounds);
    }

    @Override
    public String toString() {
      return variant + (onFile ? " over a file, " : " over memory, ") + effectiveRounds()
          + " rounds";
    }
  }

  /**
   * Each concurrency variant over memory with {@code rounds}, and one over a file with {@code
   * fileRounds}: the first variant in one test and the last in the other, to spread the variants.
   */
  private static Stream<Named<Case>> cases(boolean lastOnFile, ToIntFunction<Variant> rounds,
      int fileRounds) {
    List<Case> out = new ArrayList<>();
    for (FormatUnderTest f : Formats.all()) {
      List<Variant> vs = f.concurrencyVariants();
      for (Variant v : vs) {
        out.add(new Case(f, v, false, rounds.applyAsInt(v), 10 * rounds.applyAsInt(v)));
      }
      out.add(new Case(f, vs.get(lastOnFile ? vs.size() - 1 : 0), true, fileRounds,
          10 * fileRounds));
    }
    return out.stream().map(c -> Named.of(c.toString(), c));
  }

  private String newImage(Case c, long size) throws IOException {
    String location = Images.newLocation(c.onFile() ? tmp : null, "concurrency",
        "." + c.format().name());
    c.variant().create(location, size);
    return location;
  }

  /** Check (where the format has one) finds the image clean and its integrity holds. */
  private static void assertConsistent(Case c, BlockDevice d, String context) throws IOException {
    if (c.format().has(DriverFeature.CHECK)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertTrue(r.isClean(), context + ": " + r);
    }
    c.format().assertIntegrity(d, c.variant(), context);
  }

  /** Runs the tasks at once and rethrows the first failure with {@code context}. */
  private static void runAll(List<Callable<Void>> tasks, String context) throws Exception {
    List<Future<Void>> futures = new ArrayList<>();
    for (Callable<Void> t : tasks) {
      futures.add(pool.submit(t));
    }
    Throwable first = null;
    for (Future<Void> f : futures) {
      try {
        f.get(60, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (first == null) {
          first = e.getCause();
        }
      }
    }
    if (first != null) {
      throw new AssertionError(context + ": " + first, first);
    }
  }

  /** Bytes that tell writers apart: what writer {@code id} writes in round {@code round}. */
  private static byte[] pattern(long seed, int round, int id, int length) {
    return Images.pattern(seed * 31 + round * 1009L + id, length);
  }

  // ---------------------------------------------------------------- one block, many threads

  static Stream<Named<Case>> oneBlockCases() {
    return cases(false, v -> 200, 30);
  }

  /**
   * Every round, {@value #WRITERS} threads released by one barrier write into the same
   * unallocated block: either disjoint slices of it (some of them all zeros, which allocate
   * nothing) or the whole block each. At the same moment another thread discards block 0 (VDI then
   * moves its last block, 3, into the hole under the exclusive lock) and a reader checks block 3.
   * Exactly one physical block must be allocated for the contended block, and nothing written may
   * be lost.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("oneBlockCases")
  void manyThreadsHitOneUnallocatedBlockAtOnce(Case c) throws Exception {
    long seed = Stress.seed();
    int n = c.effectiveRounds();
    // The bytes are made once: every round starts from a fresh image, so they need not change,
    // and block-sized arrays are costly to allocate by the thousand.
    OneBlockBytes bytes = new OneBlockBytes(seed, c.bs());
    for (int round = 0; round < n; round++) {
      oneBlockRound(c, seed, round, bytes);
    }
  }

  /** What the writers of {@link #oneBlockRound} write, whole blocks and slices. */
  private static final class OneBlockBytes {
    final byte[] discarded;
    final byte[] kept;
    final byte[][] whole = new byte[WRITERS][];
    final byte[][] slices = new byte[WRITERS][];

    OneBlockBytes(long seed, int bs) {
      discarded = pattern(seed, 0, 99, bs);
      kept = pattern(seed, 0, 100, bs);
      for (int t = 0; t < WRITERS; t++) {
        whole[t] = pattern(seed, 0, t, bs);
        // Every fourth writer writes zeros: no allocation, a different path.
        slices[t] = t % 4 == 3 ? new byte[bs / WRITERS] : pattern(seed, 1, t, bs / WRITERS);
      }
    }
  }

  private void oneBlockRound(Case c, long seed, int round, OneBlockBytes bytes)
      throws Exception {
    String context = c + ": round " + round + ", seed " + seed;
    int bs = c.bs();
    Random r = new Random(seed + round);
    boolean whole = r.nextBoolean();
    String location = newImage(c, 4L * bs);
    byte[] kept = bytes.kept;
    try (BlockDevice d = Images.open(location, c.format().name(), false)) {
      // Block 0 will be discarded; block 3 (the last physical block) then moves into its place.
      Images.write(d, 0, bytes.discarded);
      Images.write(d, 3L * bs, kept);
      int slice = bs / WRITERS;
      byte[][] wrote = new byte[WRITERS][];
      CyclicBarrier start = new CyclicBarrier(WRITERS + 2);
      List<Callable<Void>> tasks = new ArrayList<>();
      for (int t = 0; t < WRITERS; t++) {
        int id = t;
        wrote[t] = whole ? bytes.whole[t] : bytes.slices[t];
        long offset = bs + (whole ? 0 : (long) t * slice);
        tasks.add(() -> {
          start.await(30, TimeUnit.SECONDS);
          Images.write(d, offset, wrote[id]);
          return null;
        });
      }
      tasks.add(() -> {
        start.await(30, TimeUnit.SECONDS);
        d.discard(0, bs);
        return null;
      });
      AtomicBoolean writersDone = new AtomicBoolean();
      tasks.add(() -> {
        start.await(30, TimeUnit.SECONDS);
        // Reads the moving block while the others run (at least once, whatever the timing), a
        // slice at a time so the reader does not starve the writers on a small machine.
        int part = bs / 8;
        int i = 0;
        do {
          int off = (i++ % 8) * part;
          byte[] got = Images.read(d, 3L * bs + off, part);
          if (!Arrays.equals(got, 0, part, kept, off, off + part)) {
            fail("block 3 read wrong while blocks moved, at byte " + off);
          }
          Thread.yield();
        } while (!writersDone.get());
        return null;
      });
      List<Callable<Void>> writers = tasks.subList(0, WRITERS + 1);
      List<Future<Void>> readerFuture = List.of(pool.submit(tasks.get(WRITERS + 1)));
      try {
        runAll(new ArrayList<>(writers), context);
      } finally {
        writersDone.set(true);
      }
      readerFuture.get(0).get(60, TimeUnit.SECONDS);

      byte[] block = Images.read(d, bs, bs);
      if (whole) {
        assertEachByteFromOneWriter(block, wrote, context + ", block 1");
      } else {
        for (int t = 0; t < WRITERS; t++) {
          byte[] got = Arrays.copyOfRange(block, t * slice, (t + 1) * slice);
          assertArrayEquals(wrote[t], got, context + ": slice of writer " + t + " lost");
        }
      }
      assertDiscarded(c, bytes.discarded, Images.read(d, 0, bs), context + ": discarded block 0");
      assertArrayEquals(kept, Images.read(d, 3L * bs, bs), context + ": moved block 3");
      assertConsistent(c, d, context);
      assertBlocksWithData(c, d, context);
    }
    try (BlockDevice d = Images.open(location, c.format().name(), true)) {
      assertConsistent(c, d, context + ", after reopening");
      assertBlocksWithData(c, d, context + ", after reopening");
    } finally {
      Images.delete(location);
    }
  }

  /** A discarded range reads as zeros, or where the format may keep data, as zeros or old bytes. */
  private static void assertDiscarded(Case c, byte[] old, byte[] got, String context) {
    for (int i = 0; i < got.length; i++) {
      if (got[i] != 0 && (c.format().discardFrees() || got[i] != old[i])) {
        fail(context + ": byte " + i + " is " + got[i] + (c.format().discardFrees()
            ? ", not zero" : ", neither zero nor its old value " + old[i]));
      }
    }
  }

  /** Where block status tracks allocation: blocks 1 and 3 hold data, and 0 too if discard keeps it. */
  private static void assertBlocksWithData(Case c, BlockDevice d, String context)
      throws IOException {
    if (!c.format().tracksAllocation()) {
      return;
    }
    Set<Long> data = PhysicalBlocks.dataClusters(d, c.bs());
    Set<Long> expected = new TreeSet<>(List.of(1L, 3L));
    if (!c.format().discardFrees() && data.contains(0L)) {
      expected.add(0L);
    }
    assertEquals(expected, data, context + ": blocks holding data");
  }

  /** Each byte equals the byte some writer wrote at that position (writers of the whole range). */
  private static void assertEachByteFromOneWriter(byte[] got, byte[][] writers, String context) {
    for (int i = 0; i < got.length; i++) {
      boolean found = false;
      for (byte[] w : writers) {
        if (w[i] == got[i]) {
          found = true;
          break;
        }
      }
      if (!found) {
        fail(context + ": byte " + i + " is " + got[i] + ", which no writer wrote there");
      }
    }
  }

  // ---------------------------------------------------------------- a mixed workload

  /**
   * Threads with different jobs on one image: owners of private blocks write, zero and discard
   * inside them (zeroing and discarding whole blocks moves other threads' blocks); writers of shared
   * ranges, each crossing a block boundary, all write every shared range with their own bytes;
   * readers keep checking anchor blocks nobody writes but compaction moves. The private blocks must
   * match each owner's model exactly, every shared byte must come from one of its writers.
   */
  static Stream<Named<Case>> mixedCases() {
    // Rounds cost in proportion to the block size.
    return cases(true, v -> v.clusterSize() <= 512 * 1024 ? 40 : 25, 8);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("mixedCases")
  void mixedWritersZeroersAndReaders(Case c) throws Exception {
    long seed = Stress.seed();
    int n = c.effectiveRounds();
    for (int round = 0; round < n; round++) {
      mixedRound(c, seed, round);
    }
  }

  private static final int OWNERS = 6;
  private static final int BLOCKS_PER_OWNER = 2;
  private static final int SHARED_WRITERS = 4;
  private static final int SHARED_RANGES = 3;
  private static final int READERS = 2;
  private static final int ANCHORS = 3;
  private static final int STEPS = 12;

  private void mixedRound(Case c, long seed, int round) throws Exception {
    String context = c + ": round " + round + ", seed " + seed;
    int bs = c.bs();
    boolean discards = c.format().discardFrees();
    // Layout: anchors, then each owner's blocks, then the shared ranges (two blocks each).
    int anchorBase = 0;
    int ownerBase = ANCHORS;
    int sharedBase = ownerBase + OWNERS * BLOCKS_PER_OWNER;
    int blocks = sharedBase + 2 * SHARED_RANGES;
    long size = (long) blocks * bs;
    String location = newImage(c, size);
    try (BlockDevice d = Images.open(location, c.format().name(), false)) {
      byte[][] anchors = new byte[ANCHORS][];
      for (int a = 0; a < ANCHORS; a++) {
        anchors[a] = pattern(seed, round, 200 + a, bs);
      }
      // Written in an order that puts anchors at high physical indexes, so compaction moves them.
      for (int a = ANCHORS - 1; a >= 0; a--) {
        Images.write(d, (long) (anchorBase + a) * bs, anchors[a]);
      }
      byte[][] ownerModels = new byte[OWNERS][];
      byte[][][] sharedBytes = new byte[SHARED_RANGES][SHARED_WRITERS][];
      long[] sharedStart = new long[SHARED_RANGES];
      int sharedLength = bs / 2 + 1000;
      for (int k = 0; k < SHARED_RANGES; k++) {
        // From a quarter block before a boundary across it, unaligned.
        sharedStart[k] = (long) (sharedBase + 2 * k + 1) * bs - bs / 4 - 7;
        for (int t = 0; t < SHARED_WRITERS; t++) {
          sharedBytes[k][t] = pattern(seed, round, 300 + k * SHARED_WRITERS + t, sharedLength);
        }
      }
      CyclicBarrier start = new CyclicBarrier(OWNERS + SHARED_WRITERS + READERS);
      AtomicBoolean done = new AtomicBoolean();
      List<Callable<Void>> workers = new ArrayList<>();
      for (int o = 0; o < OWNERS; o++) {
        int owner = o;
        long base = (long) (ownerBase + o * BLOCKS_PER_OWNER) * bs;
        int len = BLOCKS_PER_OWNER * bs;
        ownerModels[o] = new byte[len];
        workers.add(() -> {
          Random r = new Random(seed * 7 + round * 131L + owner);
          byte[] model = ownerModels[owner];
          start.await(30, TimeUnit.SECONDS);
          for (int step = 0; step < STEPS; step++) {
            int kind = r.nextInt(10);
            if (kind < 3) {
              // A whole block zeroed or discarded: it becomes ZERO and the image compacts. The
              // model is exact, so a format whose discard may keep data zeroes instead.
              int b = r.nextInt(BLOCKS_PER_OWNER);
              if (r.nextBoolean() && discards) {
                d.discard(base + (long) b * bs, bs);
              } else {
                d.writeZeroes(base + (long) b * bs, bs);
              }
              Arrays.fill(model, b * bs, (b + 1) * bs, (byte) 0);
            } else if (kind < 4) {
              int off = r.nextInt(len - 1);
              int n = 1 + r.nextInt(Math.min(len - off, 70_000));
              d.writeZeroes(base + off, n);
              Arrays.fill(model, off, off + n, (byte) 0);
            } else {
              int off = r.nextInt(len - 1);
              int n = 1 + r.nextInt(Math.min(len - off, bs));
              byte[] data = Images.pattern(r.nextLong(), n);
              Images.write(d, base + off, data);
              System.arraycopy(data, 0, model, off, n);
            }
            if (step % 4 == 3) {
              byte[] got = Images.read(d, base, len);
              int at = Arrays.mismatch(got, model);
              if (at >= 0) {
                fail("owner " + owner + " after step " + step + ": byte " + at + " is " + got[at]
                    + ", expected " + model[at]);
              }
            }
          }
          return null;
        });
      }
      for (int t = 0; t < SHARED_WRITERS; t++) {
        int writer = t;
        workers.add(() -> {
          Random r = new Random(seed * 11 + round * 137L + writer);
          start.await(30, TimeUnit.SECONDS);
          List<Integer> order = new ArrayList<>(List.of(0, 1, 2));
          java.util.Collections.shuffle(order, r);
          for (int k : order) {
            d.write(sharedStart[k], ByteBuffer.wrap(sharedBytes[k][writer]));
          }
          return null;
        });
      }
      List<Callable<Void>> readers = new ArrayList<>();
      for (int t = 0; t < READERS; t++) {
        int reader = t;
        readers.add(() -> {
          start.await(30, TimeUnit.SECONDS);
          int a = reader;
          do {
            a = (a + 1) % ANCHORS;
            byte[] got = Images.read(d, (long) (anchorBase + a) * bs, bs);
            if (!Arrays.equals(got, anchors[a])) {
              fail("reader " + reader + ": anchor block " + a + " read wrong at byte "
                  + Arrays.mismatch(got, anchors[a]));
            }
            Thread.yield();
          } while (!done.get());
          return null;
        });
      }
      List<Future<Void>> readerFutures = new ArrayList<>();
      for (Callable<Void> reader : readers) {
        readerFutures.add(pool.submit(reader));
      }
      try {
        runAll(workers, context);
      } finally {
        done.set(true);
      }
      for (Future<Void> f : readerFutures) {
        try {
          f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          throw new AssertionError(context + ": " + e.getCause(), e.getCause());
        }
      }
      verifyMixed(c, d, context, anchors, ownerModels, ownerBase, sharedStart, sharedBytes);
    }
    try (BlockDevice d = Images.open(location, c.format().name(), true)) {
      assertConsistent(c, d, context + ", after reopening");
    } finally {
      Images.delete(location);
    }
  }

  private static void verifyMixed(Case c, BlockDevice d, String context, byte[][] anchors,
      byte[][] ownerModels, int ownerBase, long[] sharedStart, byte[][][] sharedBytes)
      throws IOException {
    int bs = c.bs();
    for (int a = 0; a < anchors.length; a++) {
      assertArrayEquals(anchors[a], Images.read(d, (long) a * bs, bs), context + ": anchor " + a);
    }
    for (int o = 0; o < ownerModels.length; o++) {
      byte[] got = Images.read(d, (long) (ownerBase + o * BLOCKS_PER_OWNER) * bs,
          ownerModels[o].length);
      int at = Arrays.mismatch(got, ownerModels[o]);
      if (at >= 0) {
        fail(context + ": owner " + o + " byte " + at + " is " + got[at] + ", expected "
            + ownerModels[o][at]);
      }
    }
    for (int k = 0; k < sharedStart.length; k++) {
      byte[] got = Images.read(d, sharedStart[k], sharedBytes[k][0].length);
      assertEachByteFromOneWriter(got, sharedBytes[k], context + ", shared range " + k);
    }
    assertConsistent(c, d, context);
  }
}
