package io.blockkit.verify.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.api.error.ReadOnlyException;
import io.blockkit.ops.CancelledException;
import io.blockkit.ops.Cancellation;
import io.blockkit.ops.Commit;
import io.blockkit.ops.CommitResult;
import io.blockkit.ops.Convert;
import io.blockkit.ops.ImageMap;
import io.blockkit.ops.MapEntry;
import io.blockkit.ops.Rebase;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import io.blockkit.verify.Images;
import io.blockkit.verify.plugin.ToyFormatDriver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The library's chain operations (io.blockkit.ops) over random chains: a raw base on the memory
 * protocol under one to three toyfmt overlays (clusters from 512 bytes to 64 KiB), each layer
 * written with random data, zeros and discards. What the top image reads before the operation is
 * the model; each operation must keep it (commit, safe rebase, convert) or change it exactly as
 * its contract says (unsafe rebase), and say through block status where the data now lives. The
 * same operations are compared with qemu-img's on files in block-cli's ChainParityTest.
 */
class ChainOperationsTest {
  private static final int SIZE = 512 << 10;
  private static final int[] CLUSTERS = {512, 4096, 65536};

  /** A chain, the bottom first: names and formats. */
  record Chain(List<String> names, List<String> formats) {
    String top() {
      return names.get(names.size() - 1);
    }

    int depthOfBase() {
      return names.size() - 1;
    }
  }

  private static BlockRegistry reg() throws IOException {
    return Images.registry();
  }

  private static OpenParams rw() {
    return OpenParams.defaults().withWarnings(w -> { });
  }

  /** A raw base of {@code size} bytes with random writes, and {@code overlays} toy layers. */
  static Chain chain(Random rnd, int overlays, int size) throws IOException {
    List<String> names = new ArrayList<>();
    List<String> formats = new ArrayList<>();
    String base = Images.memoryName("ops-base");
    reg().create(base, "raw", Map.of("size", Integer.toString(size)));
    names.add(base);
    formats.add("raw");
    scribble(base, "raw", rnd, size);
    for (int i = 0; i < overlays; i++) {
      String name = Images.memoryName("ops-layer" + i);
      reg().create(name, ToyFormatDriver.NAME, Map.of("backing_file", names.get(i),
          "backing_fmt", formats.get(i), "cluster_size",
          Integer.toString(CLUSTERS[rnd.nextInt(CLUSTERS.length)])));
      names.add(name);
      formats.add(ToyFormatDriver.NAME);
      scribble(name, ToyFormatDriver.NAME, rnd, size);
    }
    return new Chain(names, formats);
  }

  /** Random writes, zeroes and discards into one layer (opened alone, its chain read-only). */
  private static void scribble(String name, String format, Random rnd, int size)
      throws IOException {
    try (BlockDevice d = reg().open(name, rw().withFormat(format))) {
      for (int i = 0, n = 2 + rnd.nextInt(10); i < n; i++) {
        int off = rnd.nextInt(size);
        int len = Math.min(size - off, 1 + rnd.nextInt(size / 4));
        switch (rnd.nextInt(5)) {
          case 0 -> d.writeZeroes(off, len);
          case 1 -> d.discard(off, len);
          default -> {
            byte[] data = new byte[len];
            rnd.nextBytes(data);
            d.write(off, ByteBuffer.wrap(data));
          }
        }
      }
    }
  }

  private static byte[] read(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    d.read(0, b);
    return b.array();
  }

  private static byte[] read(String name) throws IOException {
    try (BlockDevice d = reg().open(name, rw().withReadOnly(true))) {
      return read(d);
    }
  }

  /** Which bytes the image itself allocates (its own layer's block status). */
  private static boolean[] own(BlockDevice d) throws IOException {
    boolean[] mine = new boolean[(int) d.size()];
    for (long pos = 0; pos < d.size(); ) {
      Extent e = d.blockStatus(pos, d.size() - pos);
      Arrays.fill(mine, (int) pos, (int) e.end(), e.allocated());
      pos = e.end();
    }
    return mine;
  }

  private static List<MapEntry> map(BlockDevice d) throws IOException {
    List<MapEntry> out = new ArrayList<>();
    ImageMap.of(d).forEach(out::add);
    return out;
  }

  // ---- commit

  @Property(tries = 20)
  void commitKeepsWhatTheTopReadsAndPutsItIntoTheBase(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 3) int overlays, @ForAll @IntRange(min = 0, max = 2) int how)
      throws Exception {
    Chain c = chain(new Random(seed), overlays, SIZE);
    boolean keep = how == 1;
    boolean deepest = how == 2;
    byte[] before = read(c.top());
    boolean[] ownBefore;
    try (BlockDevice top = reg().open(c.top(), rw().withWritableBacking(true))) {
      ownBefore = own(top);
      Commit commit = Commit.of(top).keepTop(keep);
      if (deepest) {
        commit.base(c.names().get(0));
      }
      CommitResult r = commit.run(reg());
      int depth = deepest ? c.depthOfBase() : 1;
      assertEquals(depth, r.depth());
      assertEquals(!keep && depth == 1, r.emptied());
      assertArrayEquals(before, read(top), "the top reads as before");
      BlockDevice base = BackingChain.layers(top).get(depth);
      assertArrayEquals(before, read(base), "the base now reads as the top did");
      if (r.emptied()) {
        for (MapEntry e : map(top)) {
          assertTrue(e.depth() >= 1, "the emptied top still holds " + e);
        }
      } else {
        assertArrayEquals(ownBefore, own(top), "a kept top keeps its blocks");
      }
    }
    assertArrayEquals(before, read(c.top()), "after reopening");
  }

  /** A commit stopped part-way leaves the top as it was, and running it again finishes it. */
  @Property(tries = 10)
  void aCancelledCommitCanBeRunAgain(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 2) int overlays) throws Exception {
    Chain c = chain(new Random(seed), overlays, SIZE);
    byte[] before = read(c.top());
    try (BlockDevice top = reg().open(c.top(), rw().withWritableBacking(true))) {
      Cancellation token = new Cancellation();
      long stopAt = new Random(seed).nextInt(SIZE);
      assertThrows(CancelledException.class, () -> Commit.of(top).inFlight(1)
          .cancellation(token).progress((s, cur, t) -> {
            if (cur >= stopAt) {
              token.cancel();
            }
          }).run(reg()));
      assertArrayEquals(before, read(top), "a stopped commit changed what the top reads");
      Commit.of(top).run(reg());
      assertArrayEquals(before, read(top));
      assertArrayEquals(before, read(top.backing().orElseThrow()));
    }
  }

  @Test
  void commitGrowsASmallerRawBaseAndRefusesAReadOnlyOne() throws Exception {
    String base = Images.memoryName("ops-small");
    reg().create(base, "raw", Map.of("size", "4096"));
    String top = Images.memoryName("ops-big");
    reg().create(top, ToyFormatDriver.NAME, Map.of("backing_file", base, "backing_fmt", "raw",
        "size", Integer.toString(SIZE)));
    byte[] data = new byte[SIZE];
    new Random(1).nextBytes(data);
    try (BlockDevice d = reg().open(top, rw())) {
      d.write(0, ByteBuffer.wrap(data));
      assertThrows(ReadOnlyException.class, () -> Commit.of(d).run(reg()),
          "the backing was opened read-only");
    }
    try (BlockDevice d = reg().open(top, rw().withWritableBacking(true))) {
      Commit.of(d).run(reg());
    }
    assertArrayEquals(data, read(base));
    assertArrayEquals(data, read(top));
  }

  // ---- rebase

  /** A raw image of random size (smaller, equal or larger) with random content, or none. */
  private static String newBacking(Random rnd) throws IOException {
    if (rnd.nextInt(4) == 0) {
      return null;
    }
    String name = Images.memoryName("ops-new");
    int size = SIZE / 2 + rnd.nextInt(SIZE);
    reg().create(name, "raw", Map.of("size", Integer.toString(size)));
    scribble(name, "raw", rnd, size);
    return name;
  }

  @Property(tries = 20)
  void safeRebaseKeepsWhatTheImageReads(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 3) int overlays) throws Exception {
    Random rnd = new Random(seed);
    Chain c = chain(rnd, overlays, SIZE);
    String next = newBacking(rnd);
    byte[] before = read(c.top());
    try (BlockDevice top = reg().open(c.top(), rw())) {
      Rebase.of(top).backing(next, next == null ? null : "raw").run(reg());
      assertArrayEquals(before, read(top));
      assertEquals(next, top.info().backing() == null ? null : top.info().backing().filename());
    }
    assertArrayEquals(before, read(c.top()), "after reopening through the new backing");
  }

  @Property(tries = 20)
  void unsafeRebaseOnlyChangesTheLink(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 2) int overlays) throws Exception {
    Random rnd = new Random(seed);
    Chain c = chain(rnd, overlays, SIZE);
    String next = newBacking(rnd);
    byte[] mine;
    boolean[] own;
    try (BlockDevice top = reg().open(c.top(), rw())) {
      mine = read(top);
      own = own(top);
    }
    byte[] below = next == null ? new byte[0] : read(next);
    try (BlockDevice top = reg().open(c.top(), rw().withOptions(Map.of("backing", "null")))) {
      Rebase.of(top).backing(next, "raw").unsafe(true).run(reg());
    }
    byte[] after = read(c.top());
    for (int i = 0; i < SIZE; i++) {
      byte expected = own[i] ? mine[i] : i < below.length ? below[i] : 0;
      if (after[i] != expected) {
        throw new AssertionError("byte " + i + " reads " + after[i] + ", expected " + expected
            + (own[i] ? " (the image's own)" : " (the new backing's)"));
      }
    }
  }

  /** A rebase stopped part-way keeps the old link and what the image reads. */
  @Test
  void aCancelledRebaseKeepsTheOldBacking() throws Exception {
    Random rnd = new Random(5);
    Chain c = chain(rnd, 1, SIZE);
    String next = newBacking(new Random(6));
    byte[] before = read(c.top());
    try (BlockDevice top = reg().open(c.top(), rw())) {
      Cancellation token = new Cancellation();
      assertThrows(CancelledException.class, () -> Rebase.of(top).backing(next, "raw")
          .cancellation(token).progress((s, cur, t) -> {
            if (cur > 0) {
              token.cancel();
            }
          }).run(reg()));
      assertEquals(c.names().get(0), top.info().backing().filename());
    }
    assertArrayEquals(before, read(c.top()));
  }

  // ---- convert

  @Property(tries = 20)
  void convertFlattensTheChainOrCopiesOnlyTheTopOverTheSameBacking(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 3) int overlays) throws Exception {
    Chain c = chain(new Random(seed), overlays, SIZE);
    byte[] before = read(c.top());
    String flat = Images.memoryName("ops-flat");
    String thin = Images.memoryName("ops-thin");
    String below = c.names().get(c.names().size() - 2);
    String belowFormat = c.formats().get(c.formats().size() - 2);
    try (BlockDevice top = reg().open(c.top(), rw().withReadOnly(true))) {
      Convert.from(top).to(flat).format("raw").run(reg());
      // the top's cluster size, so that copying its clusters allocates the same ranges
      Object cluster = top.info().formatSpecific().get("cluster-size");
      Convert.from(top).to(thin).format(ToyFormatDriver.NAME).backing(below, belowFormat)
          .options(Map.of("cluster_size", cluster.toString())).run(reg());
      boolean[] topOwn = own(top);
      try (BlockDevice t = reg().open(thin, rw().withReadOnly(true))) {
        boolean[] thinOwn = own(t);
        for (int i = 0; i < SIZE; i++) {
          assertFalse(thinOwn[i] && !topOwn[i], "byte " + i + " was copied from the backing");
        }
      }
    }
    assertArrayEquals(before, read(flat));
    assertArrayEquals(before, read(thin));
    try (BlockDevice t = reg().open(thin, rw().withReadOnly(true))) {
      assertEquals(belowFormat, t.info().backing().format());
      assertEquals(below, t.info().backing().filename());
    }
  }
}
