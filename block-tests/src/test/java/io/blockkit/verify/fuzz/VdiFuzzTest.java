package io.blockkit.verify.fuzz;

import static io.blockkit.verify.fuzz.FuzzContract.attempt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.ProbeResult;
import io.blockkit.verify.Images;
import io.blockkit.verify.fuzz.FuzzContract.Outcome;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fuzzes the vdi driver with mutated images over the {@code memory} protocol: probe, read-only
 * open, block-status walk, reads, info and check; then a read-write open of the same bytes, repair,
 * and writes on the repaired image, closed and checked once more after a reopen.
 *
 * <p>An input is the image followed by 8 bytes that seed the choice of read ranges and writes
 * (inputs shorter than 8 bytes are all image). Besides {@link FuzzContract}'s "documented
 * exceptions only, no hang, bounded allocation", each input asserts:
 * <ul>
 *   <li>the probe scores 100 exactly when the signature is at 0x40 of at least 512 bytes;
 *   <li>read-only and read-write opens agree (both fail with the same error, or both open and
 *       read and check alike), so the lazily paged map matches the fully loaded one;
 *   <li>block status tiles the image, ZERO runs read as zeros, and a read in one piece equals the
 *       same read in two;
 *   <li>every block that check does not flag reads without error (when check lists every
 *       finding; otherwise no more blocks fail than check counts);
 *   <li>repair leaves an image that checks clean, now and after a reopen; every window that read
 *       before keeps its bytes (repair keeps every byte that reads); writes and zeroes on the
 *       repaired image read back.
 * </ul>
 */
class VdiFuzzTest {
  private static final int SEED_BYTES = 8;
  /** Bytes compared at each end of every block (whole blocks could be 128 MiB). */
  private static final int WINDOW = 1024;
  private static final int MAX_SAMPLED_BLOCKS = 4096;
  private static final int RANDOM_READS = 8;
  private static final int MAX_READ = 64 << 10;
  private static final Pattern FLAGGED = Pattern.compile("^ERROR: block (\\d+):");

  /**
   * Maps sized from header fields are bounded by the file (the map must lie inside it), and a
   * write allocates at most one block of 8 MiB; anything beyond this is an allocation driven by an
   * unchecked field.
   */
  static long budget(int inputLength) {
    return (64L << 20) + 1024L * inputLength;
  }

  @FuzzTest(maxDuration = "10m")
  void vdiImage(byte[] input) {
    FuzzContract.run(input, budget(input.length), () -> new Run(input).exercise());
  }

  /** One input's image and op seed. */
  static final class Run {
    final byte[] image;
    final SplittableRandom random;
    String location;

    Run(byte[] input) {
      int split = input.length >= SEED_BYTES ? input.length - SEED_BYTES : input.length;
      image = Arrays.copyOf(input, split);
      long seed = input.length >= SEED_BYTES
          ? ByteBuffer.wrap(input, split, SEED_BYTES).getLong() : 0;
      random = new SplittableRandom(seed);
    }

    void exercise() throws IOException {
      location = MemoryFiles.put("fuzz-vdi", image);
      try {
        probe();
        readOnlyThenRepair();
      } finally {
        MemoryFiles.delete(location);
      }
    }

    private void probe() throws IOException {
      ProbeResult r;
      try (BlockDevice file = Images.registry().driver(MemoryDriver.NAME)
          .open(OpenRequest.of(location.substring(MemoryDriver.NAME.length() + 1), null, true))) {
        r = Images.registry().probe(BlockRegistry.probeInput(file, "fuzz.vdi"));
      }
      boolean signature = image.length >= 512 && ByteBuffer.wrap(image)
          .order(ByteOrder.LITTLE_ENDIAN).getInt(0x40) == 0xbeda107f;
      assertEquals(signature ? 100 : 0, r.scores().get("vdi"), "vdi probe score");
    }

    private void readOnlyThenRepair() throws IOException {
      Outcome<BlockDevice> ro = attempt(() -> Images.open(location, "vdi", true));
      if (!ro.ok()) {
        assertInstanceOf(BlockException.class, ro.failure(), "open's error");
        Outcome<BlockDevice> rw = attempt(() -> Images.open(location, "vdi", false));
        closeIfOpen(rw);
        assertEquals(ro.kind(), rw.kind(), () -> "read-write open after read-only open failed "
            + "with " + ro.failure());
        return;
      }
      Snapshot before;
      CheckReport report;
      try (BlockDevice d = ro.value()) {
        before = inspect(d);
        randomReads(d, before);
        report = d.check(CheckMode.REPORT);
      }
      Set<Long> flagged = flaggedBlocks(report);
      // Check lists the first findings of each kind and counts the rest in a "... and N more"
      // line: a block it does not list may fail only then, and never more than it counts.
      boolean unlisted = report.messages().stream().anyMatch(m -> m.contains("... and "));
      Set<Long> failing = new HashSet<>();
      for (int i = 0; i < before.windows.size(); i++) {
        Window w = before.windows.get(i);
        if (!w.read.ok()) {
          failing.add(w.block);
          if (!unlisted && !flagged.contains(w.block)) {
            fail("check did not flag block " + w.block + " but reading it failed: "
                + w.read.failure() + "; report: " + report.messages());
          }
        }
      }
      assertTrue(failing.size() <= report.corruptions(), () -> failing.size() + " blocks fail "
          + "to read but check counts " + report.corruptions() + " corruptions");

      Outcome<BlockDevice> rwOpen = attempt(() -> Images.open(location, "vdi", false));
      if (!rwOpen.ok()) {
        throw new AssertionError("read-only open succeeded, read-write open failed",
            rwOpen.failure());
      }
      Snapshot expected;
      try (BlockDevice d = rwOpen.value()) {
        Snapshot same = inspect(d);
        assertSameReads(before, same, "read-write open before repair");
        CheckReport again = d.check(CheckMode.REPORT);
        assertEquals(counts(report), counts(again), "check of the read-write open");

        CheckReport repaired = d.check(CheckMode.REPAIR_ALL);
        assertTrue(repaired.isClean(), () -> "repair left " + repaired);
        CheckReport recheck = d.check(CheckMode.REPORT);
        assertTrue(recheck.isClean(), () -> "re-check after repair: " + recheck);

        Snapshot after = inspect(d);
        for (int i = 0; i < after.windows.size(); i++) {
          Window a = after.windows.get(i);
          Window b = before.windows.get(i);
          assertTrue(a.read.ok(), () -> "block " + a.block + " unreadable after repair: "
              + a.read.failure());
          if (b.read.ok()) {
            assertArrayEquals(b.read.value(), a.read.value(), () -> "block " + b.block
                + " read before the repair but changed in it (window at " + b.offset
                + "); report: " + report.messages());
          }
        }
        expected = writeAndZero(d, after);
        CheckReport afterWrites = d.check(CheckMode.REPORT);
        assertTrue(afterWrites.isClean(), () -> "check after writes: " + afterWrites);
      }
      try (BlockDevice d = Images.open(location, "vdi", true)) {
        CheckReport reopened = d.check(CheckMode.REPORT);
        assertTrue(reopened.isClean(), () -> "check after reopen: " + reopened);
        assertSameReads(expected, inspect(d), "reopened after repair and writes");
      }
    }

    /** Info, a block-status walk and a sample of every block, with the checks that need no model. */
    private Snapshot inspect(BlockDevice d) throws IOException {
      long size = d.size();
      ImageInfo info = d.info();
      assertEquals("vdi", info.format());
      assertEquals(size, info.virtualSize(), "info's virtual size");
      long blockSize = info.clusterSize();
      assertTrue(blockSize >= 512 && Long.bitCount(blockSize) == 1, "block size " + blockSize);
      assertTrue(size > 0 && size % 512 == 0, "virtual size " + size);
      long dataOffset = ((Number) info.formatSpecific().get("data-offset")).longValue();
      long blocks = (size + blockSize - 1) / blockSize;

      List<Extent> extents = new ArrayList<>();
      long pos = 0;
      while (pos < size) {
        Extent e = d.blockStatus(pos, size - pos);
        assertEquals(pos, e.offset(), "block status offset");
        assertTrue(e.end() <= size, () -> "extent " + e + " past the end " + size);
        if (e.hasHostOffset()) {
          assertTrue(e.hostOffset() >= dataOffset, () -> "extent " + e + " before the data area");
        }
        extents.add(e);
        assertTrue(extents.size() <= blocks, () -> "more than one extent per block: "
            + extents.size() + " for " + blocks + " blocks");
        pos = e.end();
      }

      Snapshot s = new Snapshot(size, blockSize, extents);
      for (long b = 0; b < Math.min(blocks, MAX_SAMPLED_BLOCKS); b++) {
        long start = b * blockSize;
        long end = Math.min(start + blockSize, size);
        int n = (int) Math.min(WINDOW, end - start);
        s.window(d, b, start, n);
        if (end - n > start) {
          s.window(d, b, end - n, n);
        }
      }
      return s;
    }

    /** Reads of random ranges: one piece equals two pieces, ZERO runs read zeros. */
    private void randomReads(BlockDevice d, Snapshot s) throws IOException {
      for (int i = 0; i < RANDOM_READS; i++) {
        long offset = random.nextInt(3) == 0
            ? Math.min(s.size - 1, random.nextLong(s.size / s.blockSize + 1) * s.blockSize
                - random.nextInt(2))
            : random.nextLong(s.size);
        offset = Math.max(0, offset);
        int length = 1 + (int) random.nextLong(Math.min(MAX_READ, s.size - offset));
        long at = offset;
        Outcome<byte[]> whole = read(d, at, length);
        int cut = random.nextInt(length + 1);
        Outcome<byte[]> first = read(d, at, cut);
        Outcome<byte[]> second = read(d, at + cut, length - cut);
        if (whole.ok()) {
          assertTrue(first.ok() && second.ok(), "a read succeeded whole but failed in pieces");
          byte[] joined = Arrays.copyOf(first.value(), length);
          System.arraycopy(second.value(), 0, joined, cut, length - cut);
          assertArrayEquals(whole.value(), joined, "read in one piece vs two at " + at);
          s.assertZeroRuns(at, whole.value());
        } else {
          assertTrue(!first.ok() || !second.ok(), "a read failed whole but succeeded in pieces");
        }
      }
    }

    /** A write and a writeZeroes at random places of the repaired image; returns the new model. */
    private Snapshot writeAndZero(BlockDevice d, Snapshot s) throws IOException {
      long offset = random.nextLong(s.size);
      int length = 1 + (int) random.nextLong(Math.min(4096, s.size - offset));
      byte[] data = Images.pattern(random.nextLong(), length);
      d.write(offset, ByteBuffer.wrap(data));
      assertArrayEquals(data, Images.read(d, offset, length), "write read back at " + offset);
      s.apply(offset, data);

      long zeroAt = random.nextLong(s.size);
      long zeroLength = 1 + random.nextLong(Math.min(4 * s.blockSize, s.size - zeroAt));
      d.writeZeroes(zeroAt, zeroLength);
      s.zero(zeroAt, zeroLength);
      assertSameReads(s, inspect(d), "after write and writeZeroes");
      return s;
    }

    private static void assertSameReads(Snapshot expected, Snapshot actual, String when) {
      assertEquals(expected.windows.size(), actual.windows.size(), when);
      for (int i = 0; i < expected.windows.size(); i++) {
        Window e = expected.windows.get(i);
        Window a = actual.windows.get(i);
        assertEquals(e.read.kind(), a.read.kind(), () -> when + ": block " + e.block);
        if (e.read.ok()) {
          assertArrayEquals(e.read.value(), a.read.value(), () -> when + ": block " + e.block
              + " at " + e.offset);
        }
      }
    }
  }

  private static List<Long> counts(CheckReport r) {
    return List.of(r.corruptions(), r.leaks(), r.checkErrors(), r.allocatedClusters());
  }

  /** Blocks named by check's corruption messages ("ERROR: block N: ..."). */
  static Set<Long> flaggedBlocks(CheckReport report) {
    Set<Long> out = new HashSet<>();
    for (String m : report.messages()) {
      Matcher matcher = FLAGGED.matcher(m);
      if (matcher.find()) {
        out.add(Long.parseLong(matcher.group(1)));
      }
    }
    return out;
  }

  /** A read of the image; the only failure reads may have is data past the end of the file. */
  static Outcome<byte[]> read(BlockDevice d, long offset, int length) {
    Outcome<byte[]> r = attempt(() -> Images.read(d, offset, length));
    if (!r.ok()) {
      assertInstanceOf(DataUnavailableException.class, r.failure(), "read's error");
    }
    return r;
  }

  private static void closeIfOpen(Outcome<BlockDevice> o) throws IOException {
    if (o.ok()) {
      o.value().close();
    }
  }

  /** Bytes read at one place of one block. */
  record Window(long block, long offset, Outcome<byte[]> read) {}

  /** What an open image showed: its extents and one or two windows per block. */
  static final class Snapshot {
    final long size;
    final long blockSize;
    final List<Extent> extents;
    final List<Window> windows = new ArrayList<>();

    Snapshot(long size, long blockSize, List<Extent> extents) {
      this.size = size;
      this.blockSize = blockSize;
      this.extents = extents;
    }

    void window(BlockDevice d, long block, long offset, int length) {
      Outcome<byte[]> r = read(d, offset, length);
      if (r.ok()) {
        assertZeroRuns(offset, r.value());
      }
      windows.add(new Window(block, offset, r));
    }

    /** Bytes read at {@code offset} are zero wherever block status said ZERO. */
    void assertZeroRuns(long offset, byte[] bytes) {
      for (Extent e : extents) {
        if (!e.zero() || e.end() <= offset || e.offset() >= offset + bytes.length) {
          continue;
        }
        int from = (int) (Math.max(e.offset(), offset) - offset);
        int to = (int) (Math.min(e.end(), offset + bytes.length) - offset);
        for (int i = from; i < to; i++) {
          if (bytes[i] != 0) {
            fail("block status says ZERO for " + e + " but byte " + (offset + i) + " is "
                + bytes[i]);
          }
        }
      }
    }

    /** Updates the expected windows for a write of {@code data} at {@code offset}. */
    void apply(long offset, byte[] data) {
      for (int i = 0; i < windows.size(); i++) {
        Window w = windows.get(i);
        byte[] bytes = w.read.value().clone();
        for (int k = 0; k < bytes.length; k++) {
          long p = w.offset + k - offset;
          if (p >= 0 && p < data.length) {
            bytes[k] = data[(int) p];
          }
        }
        windows.set(i, new Window(w.block, w.offset, new Outcome<>(bytes, null)));
      }
    }

    void zero(long offset, long length) {
      for (int i = 0; i < windows.size(); i++) {
        Window w = windows.get(i);
        byte[] bytes = w.read.value().clone();
        for (int k = 0; k < bytes.length; k++) {
          long p = w.offset + k;
          if (p >= offset && p < offset + length) {
            bytes[k] = 0;
          }
        }
        windows.set(i, new Window(w.block, w.offset, new Outcome<>(bytes, null)));
      }
    }
  }
}
