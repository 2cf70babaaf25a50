package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.Extent;
import io.blockkit.registry.BlockRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * What every suite of the kit shares: the seed of randomised tests, unique names, devices and
 * storage closed after each test, whole-image I/O and the assertions that compare an image with a
 * model. Driver tests reach these helpers from their own extra tests too.
 *
 * <p>Randomised tests derive their {@link #random()} from {@link #SEED} and the test's name and
 * print the seed in every failure message; rerun with {@code -Dblockkit.seed=N} to reproduce.
 */
public abstract class KitSupport {
  /** The seed of this run: {@code -Dblockkit.seed=N}, else random. */
  protected static final long SEED = Long.getLong("blockkit.seed", new Random().nextLong());

  private static final AtomicLong NAMES = new AtomicLong();

  private final List<Closeable> owned = new ArrayList<>();
  private Random random;

  @BeforeEach
  final void setUpSeed(TestInfo info) {
    random = new Random(SEED ^ info.getDisplayName().hashCode());
  }

  @AfterEach
  final void closeOwned() throws IOException {
    IOException failure = null;
    // Devices first (they may sit on the storage), in the reverse order of opening.
    for (int i = owned.size() - 1; i >= 0; i--) {
      try {
        owned.get(i).close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    owned.clear();
    if (failure != null) {
      throw failure;
    }
  }

  /** This test's random source, derived from {@link #SEED}. */
  protected final Random random() {
    return random;
  }

  /** What is under test and the seed, to append to assertion messages. */
  protected final String seedNote() {
    return " [" + subjectName() + "; seed " + SEED + ", rerun with -Dblockkit.seed=" + SEED + "]";
  }

  /**
   * What is under test, for failure messages: the test class, and for the kit's nested suites
   * the variant and protocol ({@code SmallClusters.OnFiles}), which test reports may not show.
   */
  protected String subjectName() {
    return getClass().getSimpleName();
  }

  /** {@code outer.inner}: the name of a suite nested in {@code outer}. */
  static String nestedName(KitSupport outer, Object inner) {
    return outer.subjectName() + "." + inner.getClass().getSimpleName();
  }

  /** A name unique in this JVM, for memory images and temporary files. */
  protected static String newName() {
    return "conformance-" + ProcessHandle.current().pid() + "-" + NAMES.incrementAndGet();
  }

  /** Closes {@code c} after the test (in the reverse order of registration); returns it. */
  protected final <T extends Closeable> T closeAfterTest(T c) {
    owned.add(c);
    return c;
  }

  /**
   * Every driver the test class path holds, with {@code driver} in place of the driver of the same
   * name (so that the instance under test, a variant or a deliberately broken one, is what the
   * registry probes and opens).
   *
   * @throws IOException when the registry cannot load (two drivers with one name)
   */
  public static BlockRegistry registryWith(BlockDriver driver) throws IOException {
    List<BlockDriver> all = new ArrayList<>();
    for (BlockDriver d : BlockRegistry.load(driver.getClass().getClassLoader()).drivers()) {
      if (!d.name().equals(driver.name())) {
        all.add(d);
      }
    }
    all.add(driver);
    return BlockRegistry.of(all);
  }

  /** Fails (does not skip) when a driver the kit builds on is missing from the class path. */
  protected static void requireDriver(BlockRegistry registry, String name) {
    if (registry.find(name).isEmpty()) {
      fail("the conformance kit needs the '" + name + "' driver (module block-raw) on the test "
          + "class path");
    }
  }

  /** Skips the test, saying why, unless {@code driver} declares {@code feature}. */
  protected static void assumeFeature(BlockDriver driver, DriverFeature feature, String whySkip) {
    assumeTrue(driver.features().contains(feature), "driver '" + driver.name()
        + "' does not declare DriverFeature." + feature + ": " + whySkip);
  }

  // ---------------------------------------------------------------- bytes

  /** Bytes 1..255, so that written data never looks like zeros. */
  protected final byte[] randomBytes(int n) {
    return randomBytes(n, 1, 255);
  }

  /**
   * Bytes drawn from {@code lo..hi} ({@code 1 <= lo <= hi <= 255}): disjoint ranges tell a backing's
   * bytes from an overlay's at a glance.
   */
  protected final byte[] randomBytes(int n, int lo, int hi) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (lo + random.nextInt(hi - lo + 1));
    }
    return b;
  }

  /**
   * A random range {@code {offset, length}} inside an image of {@code size > 0} bytes: a third
   * start within 3 bytes of a multiple of {@code block}; lengths run from 1 byte to three blocks,
   * often just around a sector or a block, so that reads start, end and cross at boundaries.
   */
  protected final int[] randomRange(int size, int block) {
    return randomRange(random, size, block);
  }

  /** {@link #randomRange(int, int)} from the given source (one per thread). */
  protected static int[] randomRange(Random random, int size, int block) {
    int off;
    if (random.nextInt(3) == 0) {
      long near = (long) random.nextInt(size / block + 1) * block + random.nextInt(7) - 3;
      off = (int) Math.max(0, Math.min(size - 1, near));
    } else {
      off = random.nextInt(size);
    }
    int[] lengths = {1, 2, 511, 512, 513, block - 1, block, block + 1, 3 * block + 7};
    int len = random.nextBoolean() ? lengths[random.nextInt(lengths.length)]
        : 1 + random.nextInt(3 * block);
    return new int[] {off, Math.max(1, Math.min(len, size - off))};
  }

  protected static byte[] readAll(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(length);
    d.read(offset, buf);
    assertFalse(buf.hasRemaining(), "read left " + buf.remaining() + " bytes unfilled");
    return buf.array();
  }

  protected static void writeAll(BlockDevice d, long offset, byte[] data) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(data);
    d.write(offset, buf);
    assertFalse(buf.hasRemaining(), "write left " + buf.remaining() + " bytes unconsumed");
  }

  /**
   * The whole image (tests keep images small).
   *
   * @throws IOException when the driver under test fails
   */
  protected static byte[] snapshot(BlockDevice d) throws IOException {
    return readAll(d, 0, Math.toIntExact(d.size()));
  }

  // ---------------------------------------------------------------- assertions

  /** {@code actual} equals {@code expected[expOffset..]}; the message names the image offset. */
  protected final void assertSameBytes(byte[] expected, int expOffset, byte[] actual,
      long imageOffset, int length, String what) {
    int at = java.util.Arrays.mismatch(expected, expOffset, expOffset + length, actual, 0,
        length);
    if (at >= 0) {
      fail(what + ": first difference at image offset " + (imageOffset + at) + ": expected "
          + (expected[expOffset + at] & 0xff) + ", read " + (actual[at] & 0xff) + seedNote());
    }
  }

  /**
   * Compares the whole image with {@code model}.
   *
   * @throws IOException when the driver under test fails
   */
  protected final void assertImageEquals(byte[] model, BlockDevice d, String what)
      throws IOException {
    assertEquals(model.length, d.size(), what + ": size" + seedNote());
    assertSameBytes(model, 0, snapshot(d), 0, model.length, what);
  }

  /**
   * Walks block status over the whole image: the extents tile it, ZERO extents read zeros and
   * extents holding nonzero bytes are DATA, unless the image leaves them to its backing (not
   * allocated). Returns the extents.
   *
   * @throws IOException when the driver under test fails
   */
  protected final List<Extent> assertExtentsTileAndAgree(BlockDevice d, String what)
      throws IOException {
    List<Extent> out = new ArrayList<>();
    long size = d.size();
    long pos = 0;
    while (pos < size) {
      Extent e = d.blockStatus(pos, size - pos);
      assertEquals(pos, e.offset(), what + ": extent start" + seedNote());
      assertTrue(e.length() > 0 && e.end() <= size, what + ": extent " + e + " outside image of "
          + size + seedNote());
      byte[] content = readAll(d, e.offset(), Math.toIntExact(e.length()));
      boolean allZero = isZero(content);
      if (e.hostHoldsBytes()) {
        // convert reads such runs straight from the host (a mapped view of its file)
        byte[] stored = readAll(e.host(), e.hostOffset(), content.length);
        assertTrue(Arrays.equals(content, stored), what + ": extent " + e.offset() + "+"
            + e.length() + " names host offset " + e.hostOffset() + " in "
            + e.host().location() + ", which holds other bytes" + seedNote());
      }
      if (e.zero()) {
        assertTrue(allZero, what + ": extent " + e.offset() + "+" + e.length()
            + " is reported ZERO but holds nonzero bytes" + seedNote());
      }
      if (!allZero) {
        // A run the image leaves to its backing shows the backing's data without being DATA.
        assertTrue(e.data() || !e.allocated() && d.backing().isPresent(), what + ": extent "
            + e.offset() + "+" + e.length() + " holds data but is not reported DATA"
            + seedNote());
      }
      out.add(e);
      pos = e.end();
    }
    return out;
  }

  /**
   * Short block-status queries from random offsets start where asked and stay inside the query.
   *
   * @throws IOException when the driver under test fails
   */
  protected final void assertShortQueriesObeyTheContract(BlockDevice d) throws IOException {
    long size = d.size();
    for (int i = 0; i < 50 && size > 0; i++) {
      long off = (long) (random.nextDouble() * size);
      long len = 1 + (long) (random.nextDouble() * Math.min(size - off, 300_000));
      Extent e = d.blockStatus(off, len);
      assertEquals(off, e.offset(), "extent start" + seedNote());
      assertTrue(e.length() >= 1 && e.length() <= len,
          "extent length " + e.length() + " for a query of " + len + seedNote());
    }
  }

  /**
   * Close is idempotent, and every call on a closed device fails with an IOException.
   *
   * @throws IOException when the driver under test fails
   */
  protected static void assertCloseIsFinal(BlockDevice d) throws IOException {
    d.close();
    d.close();
    assertThrows(IOException.class, () -> d.read(0, ByteBuffer.allocate(1)));
    assertThrows(IOException.class, () -> d.write(0, ByteBuffer.allocate(1)));
    assertThrows(IOException.class, () -> d.writeZeroes(0, 1));
    assertThrows(IOException.class, () -> d.blockStatus(0, 1));
    assertThrows(IOException.class, d::flush);
    assertThrows(IOException.class, d::info);
  }

  protected static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
