package io.blockkit.vmdk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power loss while a stream-optimized image is written append-only (a convert with one flush
 * half way): blkdebug under the image lets the first N writes through, for every N. Whatever the
 * crash leaves opens; every grain reads its data or zeros, never anything else; grains written
 * before a completed flush read their data; check finds leaks at most; and a read-write open and
 * close turns the file into a stream with the layout VMware requires.
 */
class StreamCrashTest {
  private static final int GRAIN = 64 << 10;
  /** Grains written, in order, across two grain tables; the flush comes after the fourth. */
  private static final long[] GRAINS = {0, 3, 4, 300, 513, 514, 900, 1023};
  private static final int FLUSH_AFTER = 4;
  private static final long SIZE = 1024L * GRAIN;

  @TempDir Path dir;

  private static byte[] data(int i) {
    byte[] b = new byte[GRAIN];
    for (int k = 0; k < b.length; k++) {
      b[k] = (byte) (i * 31 + k % 251 + (k / 4096));
    }
    return b;
  }

  /**
   * Runs the workload over blkdebug; returns the writes that had reached the file when the flush
   * returned, and the writes before the close (which adds a few more).
   */
  private long[] workload(Path img, long powerLossAfter) throws IOException {
    Map<String, String> stack = Map.of("driver", "vmdk", "file.driver", "blkdebug",
        "file.power-loss-after-writes", Long.toString(powerLossAfter),
        "file.file.filename", img.toString());
    long atFlush = -1;
    long beforeClose;
    try (BlockDevice d = Tools.registry().open(stack, OpenParams.defaults().withWarnings(w -> { }))) {
      for (int i = 0; i < GRAINS.length; i++) {
        Tools.writeAll(d, GRAINS[i] * GRAIN, data(i));
        if (i + 1 == FLUSH_AFTER) {
          d.flush();
          atFlush = writes(d);
        }
      }
      beforeClose = writes(d);
    }
    return new long[] {atFlush, beforeClose};
  }

  private static long writes(BlockDevice vmdk) throws IOException {
    return ((Number) vmdk.child().orElseThrow().info().formatSpecific().get("writes"))
        .longValue();
  }

  @Test
  void everyCrashPointLeavesAReadableStream() throws IOException {
    Path probe = dir.resolve("probe.vmdk");
    Tools.create(probe, Map.of("size", Long.toString(SIZE), "subformat", "streamOptimized"));
    long[] counts = workload(probe, 1_000_000);
    assertEquals(List.of(), StreamLayoutValidator.check(probe), "without a crash");
    long flushed = counts[0];
    long total = counts[1] + 8; // the close writes the last grain and the closing structures
    for (long n = 0; n <= total; n++) {
      Path img = dir.resolve("crash-" + n + ".vmdk");
      Tools.create(img, Map.of("size", Long.toString(SIZE), "subformat", "streamOptimized"));
      workload(img, n);
      String when = "power lost after write " + n;
      try (BlockDevice d = Tools.open(img, true)) {
        for (int i = 0; i < GRAINS.length; i++) {
          byte[] got = Tools.read(d, GRAINS[i] * GRAIN, GRAIN);
          boolean mustHold = i < FLUSH_AFTER && n >= flushed;
          if (mustHold || got[0] != 0 || got[GRAIN - 1] != 0) {
            assertArrayEquals(data(i), got, when + ": grain " + GRAINS[i]);
          }
        }
        CheckReport r = d.check(CheckMode.REPORT);
        assertEquals(0, r.corruptions(), when + ": " + r.messages());
      }
      try (BlockDevice d = Tools.open(img, false)) {
        d.flush(); // completes an interrupted stream
      }
      assertEquals(List.of(), StreamLayoutValidator.check(img), when + ", completed");
      Files.delete(img);
    }
  }
}
