package io.blockkit.verify.fuzz;

import static io.blockkit.verify.fuzz.FuzzContract.attempt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.ProbeResult;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import io.blockkit.verify.formats.FuzzTarget;
import io.blockkit.verify.fuzz.FuzzContract.Outcome;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;

/**
 * The image fuzz harness every format's fuzz test runs: mutated images over the {@code memory}
 * protocol are probed, opened read-only (block-status walk, reads, info, check), then opened
 * read-write from the same bytes, repaired, written and zeroed, closed and checked once more after
 * a reopen. Each format has one {@code @FuzzTest} method calling {@link #run} (Jazzer needs a
 * method per target, and finds its seeds by its name): {@code <Name>FuzzTest#<name>Image}, with
 * the seeds in {@code <Name>FuzzTestInputs/<name>Image/}; see {@link FuzzTarget}.
 *
 * <p>An input is the image followed by 8 bytes that seed the choice of read ranges and writes
 * (inputs shorter than 8 bytes are all image). Besides {@link FuzzContract}'s "documented
 * exceptions only, no hang, bounded allocation" (the budget is the format's), each input asserts:
 * <ul>
 *   <li>the probe scores what the format's {@link FuzzTarget#expectedProbeScore} says;
 *   <li>read-only and read-write opens agree (both fail with the same error, or both open and
 *       read and check alike), so lazily loaded metadata matches fully loaded metadata;
 *   <li>info names the format and the size, and satisfies {@link FuzzTarget#assertInfo};
 *   <li>block status tiles the image (at most one extent per cluster, or per the format's
 *       {@link FuzzTarget#statusGranule}), no host offset lies before the data area, ZERO runs
 *       read as zeros, and a read in one piece equals the same read in two;
 *   <li>every cluster that check does not flag reads without error (when check lists every
 *       finding; otherwise no more clusters fail than check counts, where findings name clusters);
 *   <li>repair (where the driver repairs) leaves an image that checks clean, now and after a
 *       reopen; every window that read before keeps its bytes (repair keeps every byte that
 *       reads); writes and zeroes on the repaired image read back.
 * </ul>
 */
final class ImageFuzz {
  private static final int SEED_BYTES = 8;
  /** Bytes compared at each end of every cluster (whole clusters could be 128 MiB). */
  private static final int WINDOW = 1024;
  private static final int MAX_SAMPLED_BLOCKS = 4096;
  private static final int RANDOM_READS = 8;
  private static final int MAX_READ = 64 << 10;
  /** The sampling unit when an image reports no cluster size. */
  private static final long DEFAULT_GRANULE = 64 << 10;

  private ImageFuzz() {}

  /** The body of {@code <Name>FuzzTest#<name>Image}: one input for {@code format}. */
  static void run(String format, byte[] input) {
    FormatUnderTest f = Formats.named(format);
    FuzzTarget target = f.fuzz().get();
    FuzzContract.run(input, target.allocationBudget(input.length),
        () -> new Run(f, target, input).exercise());
  }

  /** Where Jazzer looks for a format's seeds, relative to this package. */
  static String seedDirectory(String format) {
    return testClassName(format) + "Inputs/" + testMethodName(format);
  }

  /** The simple name of a format's fuzz test class: {@code VdiFuzzTest} for vdi. */
  static String testClassName(String format) {
    return Character.toUpperCase(format.charAt(0)) + format.substring(1) + "FuzzTest";
  }

  /** The name of a format's {@code @FuzzTest} method: {@code vdiImage} for vdi. */
  static String testMethodName(String format) {
    return format + "Image";
  }

  /** The image part of an input (or seed file): all but its trailing 8-byte op seed. */
  static byte[] imageOf(byte[] input) {
    return Arrays.copyOf(input, input.length >= SEED_BYTES ? input.length - SEED_BYTES
        : input.length);
  }

  /** One input's image and op seed. */
  static final class Run {
    final FormatUnderTest format;
    final String name;
    final FuzzTarget target;
    final byte[] image;
    final SplittableRandom random;
    String location;

    Run(FormatUnderTest format, FuzzTarget target, byte[] input) {
      this.format = format;
      this.name = format.name();
      this.target = target;
      image = target.unfold(imageOf(input));
      long seed = input.length >= SEED_BYTES
          ? ByteBuffer.wrap(input, input.length - SEED_BYTES, SEED_BYTES).getLong() : 0;
      random = new SplittableRandom(seed);
    }

    void exercise() throws IOException {
      location = MemoryFiles.put("fuzz-" + name, image);
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
        r = Images.registry().probe(BlockRegistry.probeInput(file, "fuzz." + name));
      }
      assertEquals(target.expectedProbeScore(image), r.scores().get(name), name + " probe score");
    }

    private void readOnlyThenRepair() throws IOException {
      Outcome<BlockDevice> ro = attempt(() -> Images.open(location, name, true));
      if (!ro.ok()) {
        assertInstanceOf(BlockException.class, ro.failure(), "open's error");
        Outcome<BlockDevice> rw = attempt(() -> Images.open(location, name, false));
        closeIfOpen(rw);
        assertEquals(ro.kind(), rw.kind(), () -> "read-write open after read-only open failed "
            + "with " + ro.failure());
        return;
      }
      boolean checks = format.has(DriverFeature.CHECK);
      boolean repairs = format.has(DriverFeature.REPAIR);
      Snapshot before;
      CheckReport report;
      try (BlockDevice d = ro.value()) {
        before = inspect(d);
        randomReads(d, before);
        report = checks ? d.check(CheckMode.REPORT) : CheckReport.clean();
      }
      Predicate<Long> flagged = flagged(report);
      // Check lists the first findings of each kind and counts the rest in a "... and N more"
      // line: a block it does not list may fail only then, and (where the format names one
      // cluster per finding) never more blocks fail than it counts.
      boolean unlisted = report.messages().stream().anyMatch(m -> m.contains("... and "));
      Set<Long> failing = new HashSet<>();
      for (int i = 0; i < before.windows.size(); i++) {
        Window w = before.windows.get(i);
        if (!w.read.ok()) {
          failing.add(w.block);
          if (!unlisted && !flagged.test(w.block)) {
            fail("check did not flag block " + w.block + " but reading it failed: "
                + w.read.failure() + "; report: " + report.messages());
          }
        }
      }
      if (target.flaggedClusters(report).isPresent()) {
        assertTrue(failing.size() <= report.corruptions(), () -> failing.size() + " blocks fail "
            + "to read but check counts " + report.corruptions() + " corruptions");
      }

      Outcome<BlockDevice> rwOpen = attempt(() -> Images.open(location, name, false));
      if (!rwOpen.ok()) {
        throw new AssertionError("read-only open succeeded, read-write open failed",
            rwOpen.failure());
      }
      Snapshot expected;
      try (BlockDevice d = rwOpen.value()) {
        Snapshot same = inspect(d);
        assertSameReads(before, same, "read-write open before repair");
        if (checks) {
          CheckReport again = d.check(CheckMode.REPORT);
          assertEquals(counts(report), counts(again), "check of the read-write open");
        }
        if (repairs) {
          CheckReport repaired = d.check(CheckMode.REPAIR_ALL);
          assertTrue(repaired.isClean(), () -> "repair left " + repaired);
          CheckReport recheck = d.check(CheckMode.REPORT);
          assertTrue(recheck.isClean(), () -> "re-check after repair: " + recheck);
        } else if (!report.isClean()) {
          // Nothing can make the image consistent; what it read is all there is to test.
          return;
        }

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
        if (checks) {
          CheckReport afterWrites = d.check(CheckMode.REPORT);
          assertTrue(afterWrites.isClean(), () -> "check after writes: " + afterWrites);
        }
      }
      try (BlockDevice d = Images.open(location, name, true)) {
        if (checks) {
          CheckReport reopened = d.check(CheckMode.REPORT);
          assertTrue(reopened.isClean(), () -> "check after reopen: " + reopened);
        }
        assertSameReads(expected, inspect(d), "reopened after repair and writes");
      }
    }

    /** Whether check's report marks a cluster as damaged (see FuzzTarget#flaggedClusters). */
    private Predicate<Long> flagged(CheckReport report) {
      Optional<Set<Long>> named = target.flaggedClusters(report);
      if (named.isPresent()) {
        return named.get()::contains;
      }
      boolean all = report.corruptions() > 0;
      return cluster -> all;
    }

    /** Info, a block-status walk and a sample of every block, with the checks that need no model. */
    private Snapshot inspect(BlockDevice d) throws IOException {
      long size = d.size();
      ImageInfo info = d.info();
      assertEquals(name, info.format());
      assertEquals(size, info.virtualSize(), "info's virtual size");
      target.assertInfo(info);
      long blockSize = info.clusterSize() > 0 ? info.clusterSize() : DEFAULT_GRANULE;
      long dataOffset = target.firstDataOffset(info);
      long blocks = (size + blockSize - 1) / blockSize;
      long granule = target.statusGranule(info);
      long runs = granule > 0 ? (size + granule - 1) / granule : blocks;

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
        assertTrue(extents.size() <= runs, () -> "more than one extent per block (or per "
            + "status granule): " + extents.size() + " for " + runs + " of them");
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
