package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.OutOfRangeException;
import io.blockkit.api.error.ReadOnlyException;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The conformance suite every block driver's test extends (Lucene's {@code Base*TestCase}
 * pattern): a driver test implements {@link #driver()} and {@link #create(long)}, overrides the
 * hooks that apply to it, and inherits every test below. Tests of features a device does not claim
 * in {@link BlockDevice#capabilities()} are skipped with JUnit assumptions, not failed.
 *
 * <p>Randomised tests use a seed printed in every failure message; rerun with {@code
 * -Dblockkit.seed=N} to reproduce.
 *
 * <p>A minimal subclass:
 *
 * <pre>{@code
 * class MemoryProtocolConformanceTest extends BlockDriverConformanceTest {
 *   protected BlockDriver driver() { return new MemoryDriver(); }
 *   protected BlockDevice create(long size) throws IOException {
 *     String name = newName();
 *     driver().create(new CreateRequest(name, null, Options.parse("size=" + size, driver().createOptions())));
 *     return driver().open(OpenRequest.of(name, null, false));
 *   }
 * }
 * }</pre>
 */
public abstract class BlockDriverConformanceTest {
  /** The seed of this run: {@code -Dblockkit.seed=N}, else random. */
  protected static final long SEED = Long.getLong("blockkit.seed", new Random().nextLong());

  private final List<BlockDevice> opened = new ArrayList<>();
  private Random random;
  private String seedNote;
  private static int nameCounter;

  // ---------------------------------------------------------------- hooks

  /** The driver under test. */
  protected abstract BlockDriver driver();

  /**
   * A fresh, writable, open image of at least {@code size} bytes (the device's {@code size()}
   * tells the actual). Its bytes need not be zero unless {@link #freshImagesReadZero()} says so.
   * The kit closes it after the test.
   */
  protected abstract BlockDevice create(long size) throws IOException;

  /**
   * Opens again the image behind {@code closed} (already closed). The default skips the tests
   * that need it.
   */
  protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
    assumeTrue(false, "reopen() not implemented by " + getClass().getSimpleName());
    return null;
  }

  /** The capabilities a fresh writable image must report exactly, or empty to not check. */
  protected Optional<Set<Capability>> expectedCapabilities() {
    return Optional.empty();
  }

  /**
   * True when the driver recognises its images by magic bytes and must score them {@link
   * BlockDriver#PROBE_EXACT}: by default FORMAT drivers that score foreign images 0.
   */
  protected boolean claimsByMagic() {
    return driver().kind() == DriverKind.FORMAT && foreignProbeScore() == 0;
  }

  /**
   * The probe input of an image this driver made. By default, for {@link #claimsByMagic()}
   * drivers, the first bytes of the child of a fresh {@link #create(long)} image.
   */
  protected Optional<ProbeInput> ownImageProbe() throws IOException {
    if (!claimsByMagic()) {
      return Optional.empty();
    }
    BlockDevice d = create(defaultSize());
    try {
      d.flush();
      Optional<BlockDevice> child = d.child();
      if (child.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(BlockRegistry.probeInput(child.get(), "own-image"));
    } finally {
      d.close();
    }
  }

  /**
   * Probe inputs of images of other formats, which this driver must not claim. By default, a
   * 1 MiB image of every other FORMAT driver on the class path that can create one on the {@code
   * memory} protocol (none when that protocol is not on the class path).
   */
  protected List<ProbeInput> foreignImageProbes() throws IOException {
    BlockRegistry registry = BlockRegistry.load(getClass().getClassLoader());
    Optional<BlockDriver> memory = registry.find("memory");
    if (memory.isEmpty()) {
      return List.of();
    }
    List<ProbeInput> out = new ArrayList<>();
    for (BlockDriver other : registry.drivers()) {
      if (other.kind() != DriverKind.FORMAT || other.name().equals(driver().name())
          || other.name().equals(BlockRegistry.RAW)) {
        continue;
      }
      String name = newName() + "-" + other.name();
      try {
        registry.create("memory:" + name, other.name(), Map.of("size", "1M"));
      } catch (IOException | RuntimeException e) {
        continue; // a format that cannot create such an image simply contributes none
      }
      try (BlockDevice image = memory.get().open(OpenRequest.of(name, null, true))) {
        out.add(BlockRegistry.probeInput(image, other.name() + "-image"));
      } finally {
        memory.get().delete(name);
      }
    }
    return out;
  }

  /** The score this driver gives images that are not its own: 0, or 1 for raw. */
  protected int foreignProbeScore() {
    return 0;
  }

  /** The image size most tests use. */
  protected long defaultSize() {
    return 4L << 20;
  }

  /** Sizes {@link #sizesAreHonoured()} creates. */
  protected long[] sizesToTest() {
    return new long[] {0, 512, 65536 + 512, 3L << 20};
  }

  /** The driver's natural block (cluster) size; boundary tests straddle its multiples. */
  protected int naturalBlockSize() {
    return 4096;
  }

  /** True when a freshly created image reads as zeros everywhere. */
  protected boolean freshImagesReadZero() {
    return true;
  }

  // ---------------------------------------------------------------- helpers

  @BeforeEach
  final void setUpSeed(TestInfo info) {
    long testSeed = SEED ^ info.getDisplayName().hashCode();
    random = new Random(testSeed);
    seedNote = " [seed " + SEED + ", rerun with -Dblockkit.seed=" + SEED + "]";
  }

  @AfterEach
  final void closeOpened() throws IOException {
    IOException failure = null;
    for (BlockDevice d : opened) {
      try {
        d.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    opened.clear();
    if (failure != null) {
      throw failure;
    }
  }

  /** This test's random source, derived from {@link #SEED}. */
  protected final Random random() {
    return random;
  }

  /** The seed note to append to assertion messages. */
  protected final String seedNote() {
    return seedNote;
  }

  /** A name unique in this JVM, for memory images and temporary files. */
  protected static synchronized String newName() {
    return "conformance-" + ProcessHandle.current().pid() + "-" + (++nameCounter);
  }

  /** {@link #create(long)}, closed automatically after the test. */
  protected final BlockDevice fresh(long size) throws IOException {
    BlockDevice d = create(size);
    opened.add(d);
    assertTrue(d.size() >= size, "created image of " + d.size() + " bytes, asked for " + size);
    return d;
  }

  /** Closes {@code d} and {@link #reopen}s it, closed automatically after the test. */
  protected final BlockDevice closeAndReopen(BlockDevice d, boolean readOnly) throws IOException {
    d.close();
    BlockDevice r = reopen(d, readOnly);
    opened.add(r);
    return r;
  }

  /** Bytes 1..255, so that written data never looks like zeros. */
  protected final byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (1 + random.nextInt(255));
    }
    return b;
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

  /** The whole image as a model array (tests keep images small). */
  private static byte[] snapshot(BlockDevice d) throws IOException {
    return readAll(d, 0, Math.toIntExact(d.size()));
  }

  private void assertSameBytes(byte[] expected, int expOffset, byte[] actual, long imageOffset,
      int length, String what) {
    for (int i = 0; i < length; i++) {
      if (expected[expOffset + i] != actual[i]) {
        fail(what + ": first difference at image offset " + (imageOffset + i) + ": expected "
            + (expected[expOffset + i] & 0xff) + ", read " + (actual[i] & 0xff) + seedNote);
      }
    }
  }

  /** Compares the whole image with {@code model}. */
  protected final void assertImageEquals(byte[] model, BlockDevice d, String what)
      throws IOException {
    byte[] actual = snapshot(d);
    assertEquals(model.length, actual.length, what + ": size" + seedNote);
    assertSameBytes(model, 0, actual, 0, model.length, what);
  }

  private byte[] initialModel(BlockDevice d) throws IOException {
    byte[] model = snapshot(d);
    if (freshImagesReadZero()) {
      for (int i = 0; i < model.length; i++) {
        if (model[i] != 0) {
          fail("fresh image is not zero at offset " + i);
        }
      }
    }
    return model;
  }

  private void requireWritable(BlockDevice d) {
    assumeTrue(d.capabilities().contains(Capability.WRITE), "image is not writable");
  }

  // ---------------------------------------------------------------- tests

  @Test
  public void capabilitiesAreAsExpected() throws IOException {
    Optional<Set<Capability>> expected = expectedCapabilities();
    assumeTrue(expected.isPresent(), "no expected capabilities given");
    BlockDevice d = fresh(defaultSize());
    assertEquals(expected.get(), d.capabilities());
    assertFalse(d.isReadOnly());
    assertEquals(driver().name(), d.driver().name());
  }

  @Test
  public void sizesAreHonoured() throws IOException {
    for (long size : sizesToTest()) {
      BlockDevice d = fresh(size);
      ImageInfo info = d.info();
      assertEquals(d.size(), info.virtualSize(), "info().virtualSize() for size " + size);
      assertEquals(driver().name(), info.format(), "info().format()");
      assertEquals(d.location(), info.filename(), "info().filename()");
      if (freshImagesReadZero() && d.size() > 0) {
        long[] probes = {0, d.size() / 2, d.size() - 1};
        for (long p : probes) {
          assertEquals(0, readAll(d, p, 1)[0], "fresh image byte at " + p);
        }
      }
    }
  }

  @Test
  public void randomRoundTrips() throws IOException {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    byte[] model = initialModel(d);
    int size = model.length;
    for (int op = 0; op < 200; op++) {
      int off = random.nextInt(size);
      int len = 1 + random.nextInt(Math.min(size - off, op % 10 == 0 ? 300_000 : 9000));
      if (random.nextInt(4) == 0) {
        byte[] got = readAll(d, off, len);
        assertSameBytes(model, off, got, off, len, "read after " + op + " writes");
      } else {
        byte[] data = randomBytes(len);
        ByteBuffer buf = random.nextBoolean() ? ByteBuffer.wrap(data)
            : ByteBuffer.allocateDirect(len).put(data).flip();
        d.write(off, buf);
        assertFalse(buf.hasRemaining(), "write did not consume the buffer");
        System.arraycopy(data, 0, model, off, len);
      }
    }
    assertImageEquals(model, d, "after random writes");
  }

  @Test
  public void blockBoundaryRoundTrips() throws IOException {
    int block = naturalBlockSize();
    BlockDevice d = fresh(Math.max(defaultSize(), 6L * block));
    requireWritable(d);
    byte[] model = initialModel(d);
    int[] deltas = {-1, 0, 1};
    int[] lengths = {1, 2, 511, 512, 513, block - 1, block, block + 1, 2 * block + 1};
    for (int k = 1; k <= 4; k++) {
      for (int delta : deltas) {
        for (int len : lengths) {
          long off = (long) k * block + delta;
          if (off < 0 || off + len > model.length) {
            continue;
          }
          byte[] data = randomBytes(len);
          writeAll(d, off, data);
          System.arraycopy(data, 0, model, (int) off, len);
          byte[] around = readAll(d, Math.max(0, off - 3),
              (int) Math.min(model.length - Math.max(0, off - 3), len + 6));
          assertSameBytes(model, (int) Math.max(0, off - 3), around, Math.max(0, off - 3),
              around.length, "write of " + len + " at " + off);
        }
      }
    }
    assertImageEquals(model, d, "after boundary writes");
  }

  @Test
  public void zeroLengthRequestsDoNothing() throws IOException {
    BlockDevice d = fresh(defaultSize());
    long size = d.size();
    d.read(0, ByteBuffer.allocate(0));
    d.read(size, ByteBuffer.allocate(0));
    if (d.capabilities().contains(Capability.WRITE)) {
      byte[] before = snapshot(d);
      d.write(0, ByteBuffer.allocate(0));
      d.write(size, ByteBuffer.allocate(0));
      d.writeZeroes(size / 2, 0);
      d.discard(size / 2, 0);
      assertEquals(size, d.size());
      assertImageEquals(before, d, "after zero-length requests");
    }
  }

  @Test
  public void requestsPastTheEndFailAndChangeNothing() throws IOException {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    byte[] data = randomBytes((int) Math.min(d.size(), 4096));
    writeAll(d, d.size() - data.length, data);
    byte[] before = snapshot(d);
    long size = d.size();
    assertThrows(OutOfRangeException.class, () -> d.read(size - 1, ByteBuffer.allocate(2)));
    assertThrows(OutOfRangeException.class, () -> d.read(size + 1, ByteBuffer.allocate(0)));
    assertThrows(OutOfRangeException.class, () -> d.read(Long.MAX_VALUE, ByteBuffer.allocate(1)));
    assertThrows(OutOfRangeException.class, () -> d.blockStatus(size, 1));
    assertThrows(OutOfRangeException.class, () -> d.discard(size - 1, 2));
    if (!d.capabilities().contains(Capability.GROW)) {
      assertThrows(OutOfRangeException.class,
          () -> d.write(size - 1, ByteBuffer.wrap(new byte[] {1, 2})));
      assertThrows(OutOfRangeException.class, () -> d.write(size + 512,
          ByteBuffer.wrap(new byte[] {1})));
      assertThrows(OutOfRangeException.class, () -> d.writeZeroes(size - 1, 2));
    }
    assertEquals(size, d.size(), "size after refused requests");
    assertImageEquals(before, d, "after refused requests");
  }

  @Test
  public void writesPastTheEndGrowWhenClaimed() throws IOException {
    BlockDevice d = fresh(defaultSize());
    assumeTrue(d.capabilities().contains(Capability.GROW), "device does not claim GROW");
    long size = d.size();
    byte[] data = randomBytes(1000);
    writeAll(d, size + 4096, data);
    assertEquals(size + 4096 + 1000, d.size());
    assertSameBytes(new byte[4096], 0, readAll(d, size, 4096), size, 4096, "gap before growth");
    assertSameBytes(data, 0, readAll(d, size + 4096, 1000), size + 4096, 1000, "grown data");
  }

  @Test
  public void closeTwiceIsHarmless() throws IOException {
    BlockDevice d = create(defaultSize());
    d.close();
    d.close();
  }

  @Test
  public void useAfterCloseFailsCleanly() throws IOException {
    BlockDevice d = create(defaultSize());
    d.close();
    assertThrows(IOException.class, () -> d.read(0, ByteBuffer.allocate(1)));
    assertThrows(IOException.class, () -> d.write(0, ByteBuffer.allocate(1)));
    assertThrows(IOException.class, () -> d.writeZeroes(0, 1));
    assertThrows(IOException.class, () -> d.blockStatus(0, 1));
    assertThrows(IOException.class, d::flush);
    assertThrows(IOException.class, d::info);
  }

  @Test
  public void readOnlyDeviceRefusesWrites() throws IOException {
    BlockDevice w = fresh(defaultSize());
    requireWritable(w);
    byte[] data = randomBytes(4096);
    writeAll(w, 0, data);
    w.flush();
    BlockDevice d = closeAndReopen(w, true);
    assertTrue(d.isReadOnly());
    assertFalse(d.capabilities().contains(Capability.WRITE), "read-only device claims WRITE");
    byte[] before = snapshot(d);
    assertThrows(ReadOnlyException.class, () -> d.write(0, ByteBuffer.wrap(new byte[] {1})));
    assertThrows(ReadOnlyException.class, () -> d.writeZeroes(0, 512));
    assertThrows(ReadOnlyException.class, () -> d.discard(0, 512));
    assertThrows(ReadOnlyException.class, () -> d.truncate(d.size() * 2));
    d.flush();
    assertImageEquals(before, d, "read-only image after refused writes");
    assertSameBytes(data, 0, readAll(d, 0, 4096), 0, 4096, "data written before reopening");
  }

  @Test
  public void blockStatusAgreesWithData() throws IOException {
    BlockDevice d = fresh(defaultSize());
    if (d.capabilities().contains(Capability.WRITE)) {
      int size = (int) d.size();
      for (int i = 0; i < 12; i++) {
        int off = random.nextInt(size);
        int len = 1 + random.nextInt(Math.min(size - off, 200_000));
        if (i % 3 == 2) {
          d.writeZeroes(off, len);
        } else {
          writeAll(d, off, randomBytes(len));
        }
      }
    }
    assertExtentsTileAndAgree(d, "after random writes and zeroing");
    // queries from arbitrary offsets with short lengths obey the contract too
    long size = d.size();
    for (int i = 0; i < 50 && size > 0; i++) {
      long off = (long) (random.nextDouble() * size);
      long len = 1 + (long) (random.nextDouble() * Math.min(size - off, 300_000));
      Extent e = d.blockStatus(off, len);
      assertEquals(off, e.offset(), "extent start" + seedNote);
      assertTrue(e.length() >= 1 && e.length() <= len,
          "extent length " + e.length() + " for a query of " + len + seedNote);
    }
  }

  /** Walks block status over the whole image: extents tile it, and ZERO extents read zeros. */
  protected final void assertExtentsTileAndAgree(BlockDevice d, String what) throws IOException {
    long size = d.size();
    long pos = 0;
    while (pos < size) {
      Extent e = d.blockStatus(pos, size - pos);
      assertEquals(pos, e.offset(), what + ": extent start" + seedNote);
      assertTrue(e.length() > 0 && e.end() <= size, what + ": extent " + e + " outside image of "
          + size + seedNote);
      byte[] content = readAll(d, e.offset(), Math.toIntExact(e.length()));
      boolean allZero = true;
      for (byte b : content) {
        if (b != 0) {
          allZero = false;
          break;
        }
      }
      if (e.zero()) {
        assertTrue(allZero, what + ": extent " + e.offset() + "+" + e.length()
            + " is reported ZERO but holds nonzero bytes" + seedNote);
      }
      if (!allZero) {
        assertTrue(e.data(), what + ": extent " + e.offset() + "+" + e.length()
            + " holds data but is not reported DATA" + seedNote);
      }
      pos = e.end();
    }
    assertEquals(size, pos, what + ": extents do not end at the image size");
  }

  @Test
  public void writeZeroesReadsZeros() throws IOException {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    int size = (int) d.size();
    byte[] model = randomBytes(size);
    writeAll(d, 0, model);
    int block = naturalBlockSize();
    long[][] ranges = {{1, 1}, {block - 3, 7}, {block, block}, {3L * block + 17, 2L * block + 5},
        {size - 1, 1}};
    for (long[] r : ranges) {
      if (r[0] + r[1] > size) {
        continue;
      }
      d.writeZeroes(r[0], r[1]);
      Arrays.fill(model, (int) r[0], (int) (r[0] + r[1]), (byte) 0);
    }
    assertImageEquals(model, d, "after writeZeroes");
    assertExtentsTileAndAgree(d, "after writeZeroes");
  }

  @Test
  public void discardLeavesZerosOrOldData() throws IOException {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    int size = (int) d.size();
    byte[] model = randomBytes(size);
    writeAll(d, 0, model);
    int off = naturalBlockSize() - 100;
    int len = Math.min(size - off, 3 * naturalBlockSize() + 300);
    d.discard(off, len);
    byte[] after = snapshot(d);
    for (int i = 0; i < size; i++) {
      boolean inside = i >= off && i < off + len;
      if (after[i] != model[i] && !(inside && after[i] == 0)) {
        fail("byte " + i + (inside ? " inside" : " outside") + " the discarded range " + off + "+"
            + len + " is " + (after[i] & 0xff) + ", expected " + (model[i] & 0xff)
            + (inside ? " or 0" : "") + seedNote);
      }
    }
  }

  @Test
  public void truncateResizesWhenClaimed() throws IOException {
    BlockDevice d = fresh(defaultSize());
    assumeTrue(d.capabilities().contains(Capability.RESIZE), "device does not claim RESIZE");
    long size = d.size();
    byte[] tail = randomBytes(512);
    writeAll(d, size - 512, tail);
    d.truncate(size - 256);
    assertEquals(size - 256, d.size());
    d.truncate(size + 8192);
    assertEquals(size + 8192, d.size());
    byte[] back = readAll(d, size - 512, 512 + 8192);
    assertSameBytes(tail, 0, back, size - 512, 256, "data kept by shrinking");
    assertSameBytes(new byte[256 + 8192], 0, Arrays.copyOfRange(back, 256, back.length),
        size - 256, 256 + 8192, "bytes cut off and grown back");
  }

  @Test
  public void freshImageChecksClean() throws IOException {
    BlockDevice d = fresh(defaultSize());
    assumeTrue(d.capabilities().contains(Capability.CHECK), "device does not claim CHECK");
    CheckReport r = d.check(CheckMode.REPORT);
    assertTrue(r.isClean(), "fresh image does not check clean: " + r.messages());
  }

  @Test
  public void dataSurvivesCloseAndReopen() throws IOException {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    byte[] model = initialModel(d);
    for (int i = 0; i < 20; i++) {
      int off = random.nextInt(model.length);
      int len = 1 + random.nextInt(Math.min(model.length - off, 100_000));
      byte[] data = randomBytes(len);
      writeAll(d, off, data);
      System.arraycopy(data, 0, model, off, len);
    }
    d.flush();
    BlockDevice ro = closeAndReopen(d, true);
    assertImageEquals(model, ro, "after reopening read-only");
    BlockDevice rw = closeAndReopen(ro, false);
    assertImageEquals(model, rw, "after reopening read-write");
    ImageInfo info = rw.info();
    assertEquals(model.length, info.virtualSize(), "virtual size after reopening");
  }

  @Test
  public void probeClaimsOwnImages() throws IOException {
    Optional<ProbeInput> own = ownImageProbe();
    assumeTrue(own.isPresent(), "no own image to probe");
    assertEquals(BlockDriver.PROBE_EXACT, driver().probe(own.get()), "probe of own image");
  }

  @Test
  public void probeRejectsOtherBytes() throws IOException {
    List<ProbeInput> inputs = new ArrayList<>(foreignImageProbes());
    for (int n : new int[] {0, 1, 511, 512, BlockDriver.PROBE_SIZE}) {
      inputs.add(new ProbeInput(ByteBuffer.wrap(randomBytes(n)), n, "random.img"));
      inputs.add(new ProbeInput(ByteBuffer.allocate(n), n, "zeros.img"));
    }
    Optional<ProbeInput> own = ownImageProbe();
    if (own.isPresent()) {
      // a truncated copy of its own header must not be claimed either
      ByteBuffer head = own.get().head().duplicate();
      for (int n : new int[] {0, 1, 63, 511}) {
        if (n < head.limit()) {
          ByteBuffer part = ByteBuffer.allocate(n);
          part.put(head.duplicate().limit(n)).flip();
          inputs.add(new ProbeInput(part, n, "truncated.img"));
        }
      }
    }
    for (ProbeInput in : inputs) {
      int score = driver().probe(in);
      assertEquals(foreignProbeScore(), score, driver().name() + "'s probe of " + in.fileName() + " ("
          + in.available() + " bytes)" + seedNote);
      assertEquals(0, in.head().position(), "probe moved the buffer's position");
    }
  }

  @Test
  public void concurrentWritersToDisjointRangesAllLand() throws Exception {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    int threads = 4;
    int size = (int) d.size();
    int slice = size / threads;
    byte[] model = randomBytes(size);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int start = t * slice;
        int end = t == threads - 1 ? size : start + slice;
        long threadSeed = random.nextLong();
        futures.add(pool.submit(() -> {
          Random r = new Random(threadSeed);
          int pos = start;
          while (pos < end) {
            int len = Math.min(end - pos, 1 + r.nextInt(3 * naturalBlockSize()));
            d.write(pos, ByteBuffer.wrap(model, pos, len).slice());
            pos += len;
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(5, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    assertImageEquals(model, d, "after concurrent writers");
  }

  /**
   * Writers racing over the same range (crossing block boundaries, into unallocated blocks) and
   * a reader alongside: every byte read, during and after, is one some writer wrote (or the
   * initial zero), never a lost allocation or foreign data.
   */
  @Test
  public void concurrentOverlappingWritersLeaveSomeWritersBytes() throws Exception {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    assumeTrue(freshImagesReadZero(), "needs images that start zeroed");
    int block = naturalBlockSize();
    long start = Math.min(block / 2 + 17, d.size() / 4);
    int length = (int) Math.min(d.size() - start, 2L * block + 4321);
    int writers = 3;
    ExecutorService pool = Executors.newFixedThreadPool(writers + 1);
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 1; t <= writers; t++) {
        byte value = (byte) t;
        futures.add(pool.submit(() -> {
          byte[] data = new byte[length];
          Arrays.fill(data, value);
          for (int round = 0; round < 8; round++) {
            d.write(start, ByteBuffer.wrap(data));
          }
          return null;
        }));
      }
      Future<?> reader = pool.submit(() -> {
        while (!done.get()) {
          checkOnlyWriterBytes(readAll(d, start, length), start, writers, "while writing");
        }
        return null;
      });
      for (Future<?> f : futures) {
        f.get(5, TimeUnit.MINUTES);
      }
      done.set(true);
      reader.get(5, TimeUnit.MINUTES);
    } finally {
      done.set(true);
      pool.shutdownNow();
    }
    byte[] after = readAll(d, start, length);
    checkOnlyWriterBytes(after, start, writers, "after writing");
    for (int i = 0; i < length; i++) {
      if (after[i] == 0) {
        fail("byte " + (start + i) + " lost every writer's data" + seedNote);
      }
    }
  }

  private void checkOnlyWriterBytes(byte[] got, long start, int writers, String when) {
    for (int i = 0; i < got.length; i++) {
      if (got[i] < 0 || got[i] > writers) {
        fail("byte " + (start + i) + " read " + when + " is " + got[i]
            + ", which no writer wrote" + seedNote);
      }
    }
  }

  @Test
  public void flushSucceeds() throws IOException {
    BlockDevice d = fresh(defaultSize());
    requireWritable(d);
    writeAll(d, 0, randomBytes(100));
    d.flush();
    d.flush();
  }
}
