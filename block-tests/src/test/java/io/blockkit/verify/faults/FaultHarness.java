package io.blockkit.verify.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.api.DriverFeature;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import io.blockkit.verify.formats.CrashImage;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;

/**
 * Shared machinery of the fault-injection suites: images of every format under test over memory or
 * a file, the stack {@code FORMAT -> blkdebug -> protocol} opened through the registry from an
 * option string, a recording run that counts the child requests of each workload step, and the
 * verification of the raw storage a crash or failure left behind.
 */
final class FaultHarness {
  private FaultHarness() {}

  /** A crash image of a format, in memory or in a file under {@code dir}. */
  record Target(FormatUnderTest format, CrashImage image, Path dir) {
    boolean onFile() {
      return dir != null;
    }

    Target onFile(Path directory) {
      return new Target(format, image, directory);
    }

    long size() {
      return image.size();
    }

    long clusterSize() {
      return image.variant().clusterSize();
    }

    /**
     * A random workload for this image; discards only where the format's read back as zeros,
     * compactions where the format compacts.
     */
    Workload workload(long seed, int count) {
      boolean compacts;
      try {
        compacts = format.has(DriverFeature.COMPACT);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return Workload.random(seed, size(), clusterSize(), count, format.discardFrees(), compacts);
    }

    @Override
    public String toString() {
      return image + (onFile() ? " on file" : "");
    }
  }

  /** The crash images of every format, named for parameterized tests. */
  static Stream<Named<Target>> memoryTargets() {
    return Formats.all().stream()
        .flatMap(f -> f.crashImages().stream().map(c -> new Target(f, c, null)))
        .map(t -> Named.of(t.toString(), t));
  }

  /** Creates a fresh image for {@code t}; returns its location for the registry. */
  static String create(Target t) throws IOException {
    String location = Images.newLocation(t.dir(), "crash", "." + t.format().name());
    t.image().variant().create(location, t.size());
    return location;
  }

  /**
   * Opens {@code driver=FORMAT,file.driver=blkdebug,file.<rules>,file.file.filename=<location>}
   * through the registry, as a user of blkdebug would.
   */
  static BlockDevice openStack(Target t, String location, String rules) throws IOException {
    StringBuilder s = new StringBuilder("driver=" + t.format().name() + ",file.driver=blkdebug");
    if (!rules.isEmpty()) {
      for (String rule : rules.split(",")) {
        s.append(",file.").append(rule);
      }
    }
    s.append(",file.file.filename=").append(location.replace(",", ",,"));
    return Images.registry().open(OptionStrings.split(s.toString()), Images.quiet(null));
  }

  /** A blkdebug counter of the node under the format. */
  static long counter(BlockDevice image, String key) throws IOException {
    BlockDevice debug = image.child().orElseThrow();
    assertEquals("blkdebug", debug.driver().name());
    return ((Number) debug.info().formatSpecific().get(key)).longValue();
  }

  /**
   * Child request counts after each step of a fault-free run: {@code writes[j]} modifying
   * requests and {@code flushes[j]} flushes had reached blkdebug when step {@code j} returned;
   * {@code bytes[j]} bytes had been written.
   */
  record Recording(long[] writes, long[] flushes, long[] bytes) {
    long totalWrites() {
      return writes[writes.length - 1];
    }

    long totalFlushes() {
      return flushes[flushes.length - 1];
    }

    /** The step in progress when the power is lost after {@code n} writes; ops.size() if none. */
    int stepInterruptedAt(long n) {
      for (int j = 0; j < writes.length; j++) {
        if (writes[j] > n) {
          return j;
        }
      }
      return writes.length;
    }
  }

  static Recording record(Target t, Workload w) throws IOException {
    String location = create(t);
    int n = w.ops.size();
    long[] writes = new long[n];
    long[] flushes = new long[n];
    long[] bytes = new long[n];
    try (BlockDevice d = openStack(t, location, "")) {
      for (int j = 0; j < n; j++) {
        w.ops.get(j).run(d);
        writes[j] = counter(d, "writes");
        flushes[j] = counter(d, "flushes");
        bytes[j] = counter(d, "bytes-written");
      }
    } finally {
      Images.delete(location);
    }
    return new Recording(writes, flushes, bytes);
  }

  /** What a block may contain: null when block {@code block} of {@code image} is acceptable, else why not. */
  interface BlockOracle {
    String explain(int block, byte[] image);
  }

  /**
   * Reopens the raw storage without the filter and checks what a crash or failure left: the open
   * succeeds and every block satisfies {@code oracle}; where the format has a check, it finds no
   * corruption (leaks allowed), and where it repairs, {@code check -r all} leaves a clean image
   * with every byte as before and the format's integrity intact, also after a read-only reopen.
   */
  static void verifyReopened(Target t, String location, Workload w, BlockOracle oracle,
      String context) throws IOException {
    FormatUnderTest f = t.format();
    boolean checks = f.has(DriverFeature.CHECK);
    try (BlockDevice d = Images.open(location, f.name(), false)) {
      if (checks) {
        assertNoCorruption(d.check(CheckMode.REPORT), context + ": check after reopening");
      }
      byte[] before = Images.readAll(d);
      assertBlocks(w, before, oracle, context + ", before repair");
      if (f.has(DriverFeature.REPAIR)) {
        CheckReport repaired = d.check(CheckMode.REPAIR_ALL);
        assertTrue(repaired.isClean(), context + ": check -r all left " + repaired);
        CheckReport again = d.check(CheckMode.REPORT);
        assertTrue(again.isClean(), context + ": re-check after repair found " + again);
        byte[] after = Images.readAll(d);
        int at = Arrays.mismatch(before, after);
        if (at >= 0) {
          fail(context + ": repair changed byte " + at + " from " + before[at] + " to "
              + after[at]);
        }
        f.assertIntegrity(d, t.image().variant(), context + ", after repair");
      }
    }
    if (checks) {
      try (BlockDevice d = Images.open(location, f.name(), true)) {
        CheckReport r = d.check(CheckMode.REPORT);
        if (f.has(DriverFeature.REPAIR)) {
          assertTrue(r.isClean(), context + ": read-only reopen after repair found " + r);
        } else {
          assertNoCorruption(r, context + ": read-only reopen");
        }
      }
    }
  }

  private static void assertNoCorruption(CheckReport report, String context) {
    if (report.corruptions() != 0 || report.checkErrors() != 0) {
      fail(context + " found corruption (only leaks are allowed): " + report.messages());
    }
  }

  /**
   * What a crash right now would leave, while the stack still has the image open: a copy of the
   * memory image's bytes must open, check without corruption and satisfy {@code oracle}.
   */
  static void verifyCrashCopy(Target t, String memoryLocation, Workload w, BlockOracle oracle,
      String context) throws IOException {
    byte[] bytes;
    try (BlockDevice raw = Images.open(memoryLocation, "raw", true)) {
      bytes = Images.readAll(raw);
    }
    String copy = MemoryFiles.put("crash-copy", bytes);
    try {
      try (BlockDevice d = Images.open(copy, t.format().name(), true)) {
        if (t.format().has(DriverFeature.CHECK)) {
          assertNoCorruption(d.check(CheckMode.REPORT), context + ": a crash now would leave "
              + "an image whose check");
        }
        assertBlocks(w, Images.readAll(d), oracle, context + ", if it crashed now");
      }
    } finally {
      Images.delete(copy);
    }
  }

  static void assertBlocks(Workload w, byte[] image, BlockOracle oracle, String context) {
    for (int b = 0; b < w.blocks(); b++) {
      String bad = oracle.explain(b, image);
      if (bad != null) {
        fail(context + ": block " + b + " " + bad);
      }
    }
  }

  /**
   * A block's contents as a set element: equal when the bytes are, hashed once from a sample of
   * them (hashing every byte of every candidate dominated the suite's run time).
   */
  record Contents(byte[] bytes, int hash) {
    static Contents of(byte[] bytes) {
      int h = bytes.length;
      for (int i = 0; i < bytes.length; i += 61) {
        h = 31 * h + bytes[i];
      }
      return new Contents(bytes, h);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Contents c && c.hash == hash && Arrays.equals(c.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

}
