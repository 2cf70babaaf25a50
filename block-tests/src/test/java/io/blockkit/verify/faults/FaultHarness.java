package io.blockkit.verify.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.verify.Images;
import io.blockkit.verify.PhysicalBlocks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Shared machinery of the fault-injection suites: VDI images over memory or a file, the stack
 * {@code vdi -> blkdebug -> protocol} opened through the registry from an option string, a
 * recording run that counts the child requests of each workload step, and the verification of
 * the raw storage a crash or failure left behind.
 */
final class FaultHarness {
  private FaultHarness() {}

  /** An image to create: size, block size, extra bytes per block, and where it lives. */
  record Target(String name, long size, long blockSize, long blockExtra, Path dir) {
    boolean onFile() {
      return dir != null;
    }

    Target onFile(Path directory) {
      return new Target(name + " on file", size, blockSize, blockExtra, directory);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** Offset of header.block_extra in a version 1.1 header. */
  private static final int BLOCK_EXTRA_OFFSET = 380;

  /** Creates a fresh dynamic image for {@code t}; returns its location for the registry. */
  static String create(Target t) throws IOException {
    String location = t.onFile()
        ? Files.createTempFile(t.dir(), "crash", ".vdi").toString()
        : Images.memoryName("faults");
    Map<String, String> o = new LinkedHashMap<>();
    o.put("size", Long.toString(t.size()));
    o.put("block_size", Long.toString(t.blockSize()));
    Images.create(location, "vdi", o);
    if (t.blockExtra() > 0) {
      // create has no block_extra option; an empty dynamic image gets one by patching the field.
      try (BlockDevice raw = Images.open(location, "raw", false)) {
        ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        v.putInt(0, (int) t.blockExtra());
        raw.write(BLOCK_EXTRA_OFFSET, v);
      }
    }
    return location;
  }

  static void delete(String location) throws IOException {
    if (location.startsWith("memory:")) {
      Images.registry().parseLocation(location).protocol().delete(location.substring(7));
    } else {
      Files.deleteIfExists(Path.of(location));
    }
  }

  /**
   * Opens {@code driver=vdi,file.driver=blkdebug,file.<rules>,file.file.filename=<location>}
   * through the registry, as a user of blkdebug would.
   */
  static BlockDevice openStack(String location, String rules) throws IOException {
    StringBuilder s = new StringBuilder("driver=vdi,file.driver=blkdebug");
    if (!rules.isEmpty()) {
      for (String rule : rules.split(",")) {
        s.append(",file.").append(rule);
      }
    }
    s.append(",file.file.filename=").append(location.replace(",", ",,"));
    return Images.registry().open(OptionStrings.split(s.toString()), Images.quiet(null));
  }

  /** A blkdebug counter of the node under {@code vdi}. */
  static long counter(BlockDevice vdi, String key) throws IOException {
    BlockDevice debug = vdi.child().orElseThrow();
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
    try (BlockDevice d = openStack(location, "")) {
      for (int j = 0; j < n; j++) {
        w.ops.get(j).run(d);
        writes[j] = counter(d, "writes");
        flushes[j] = counter(d, "flushes");
        bytes[j] = counter(d, "bytes-written");
      }
    } finally {
      delete(location);
    }
    return new Recording(writes, flushes, bytes);
  }

  /** What a block may contain: null when block {@code block} of {@code image} is acceptable, else why not. */
  interface BlockOracle {
    String explain(int block, byte[] image);
  }

  /**
   * Reopens the raw storage without the filter and checks what a crash or failure left: the open
   * succeeds, check finds no corruption (leaks allowed), every block satisfies {@code oracle}
   * before and after {@code check -r all}, which leaves a clean image with one physical block per
   * allocated virtual block.
   */
  static void verifyReopened(String location, Workload w, BlockOracle oracle, String context)
      throws IOException {
    try (BlockDevice d = Images.open(location, "vdi", false)) {
      CheckReport report = d.check(CheckMode.REPORT);
      if (report.corruptions() != 0 || report.checkErrors() != 0) {
        fail(context + ": check after reopening found corruption (only leaks are allowed): "
            + report.messages());
      }
      byte[] before = Images.readAll(d);
      assertBlocks(w, before, oracle, context + ", before repair");
      CheckReport repaired = d.check(CheckMode.REPAIR_ALL);
      assertTrue(repaired.isClean(), context + ": check -r all left " + repaired);
      CheckReport again = d.check(CheckMode.REPORT);
      assertTrue(again.isClean(), context + ": re-check after repair found " + again);
      byte[] after = Images.readAll(d);
      int at = Arrays.mismatch(before, after);
      if (at >= 0) {
        fail(context + ": repair changed byte " + at + " from " + before[at] + " to " + after[at]);
      }
      PhysicalBlocks.assertOneEach(d, w.blockSize, context + ", after repair");
    }
    try (BlockDevice d = Images.open(location, "vdi", true)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertTrue(r.isClean(), context + ": read-only reopen after repair found " + r);
    }
  }

  /**
   * What a crash right now would leave, while the stack still has the image open: a copy of the
   * memory image's bytes must open, check without corruption and satisfy {@code oracle}.
   */
  static void verifyCrashCopy(String memoryLocation, Workload w, BlockOracle oracle,
      String context) throws IOException {
    byte[] bytes;
    try (BlockDevice raw = Images.open(memoryLocation, "raw", true)) {
      bytes = Images.readAll(raw);
    }
    String copy = Images.memoryName("crash-copy");
    Images.create(copy, "raw", Map.of("size", Integer.toString(bytes.length)));
    try {
      try (BlockDevice raw = Images.open(copy, "raw", false)) {
        raw.write(0, ByteBuffer.wrap(bytes));
      }
      try (BlockDevice d = Images.open(copy, "vdi", true)) {
        CheckReport report = d.check(CheckMode.REPORT);
        if (report.corruptions() != 0 || report.checkErrors() != 0) {
          fail(context + ": a crash now would leave corruption: " + report.messages());
        }
        assertBlocks(w, Images.readAll(d), oracle, context + ", if it crashed now");
      }
    } finally {
      delete(copy);
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
