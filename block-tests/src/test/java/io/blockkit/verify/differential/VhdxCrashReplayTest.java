package io.blockkit.verify.differential;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.ops.Convert;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real crash images of blockkit's log: a session allocating blocks is cut after every one of its
 * writes (blkdebug's power-loss-after-writes), and each image left is opened read-only. Where the
 * header names a log (a dirty image), blockkit replays it in memory, and {@code qemu-img check -r
 * all} replays it in the file to the same bytes; the run must include crash points whose log held
 * an update not yet in place (the image reads differently when the log is ignored), so the replay
 * is what makes them read right.
 */
class VhdxCrashReplayTest {
  private static final int MIB = 1 << 20;
  private static final int BLOCKS = 4;

  @TempDir
  Path dir;

  @Test
  void crashImagesReplayInBlockkitAndInQemuImgToTheSameBytes() throws IOException {
    Qemu.require("qemu-img");
    long total = run(Long.MAX_VALUE);
    int dirty = 0;
    int unapplied = 0;
    int qemuChecks = 0;
    for (long n = 0; n <= total; n++) {
      run(n);
      Path image = dir.resolve("crash.vhdx");
      byte[] replayed;
      boolean isDirty;
      try (BlockDevice d = Images.open(image.toString(), "vhdx", true)) {
        replayed = Images.readAll(d);
        isDirty = d.info().dirty();
        CheckReport r = d.check(CheckMode.REPORT);
        assertEquals(0, r.corruptions(), "crash after " + n + " writes: " + r);
      }
      for (int b = 0; b < BLOCKS; b++) {
        byte[] block = Arrays.copyOfRange(replayed, b * MIB, (b + 1) * MIB);
        assertTrue(Arrays.equals(block, new byte[MIB]) || Arrays.equals(block, data(b)),
            "crash after " + n + " writes: block " + b + " holds neither zeros nor its data");
      }
      if (!isDirty) {
        continue;
      }
      dirty++;
      if (!Arrays.equals(replayed, readIgnoringTheLog(image))) {
        unapplied++;
      }
      // convert reads data straight from the file where block status names an offset: it must
      // still copy the replayed bytes
      Path copy = dir.resolve("copy.raw");
      Files.deleteIfExists(copy);
      try (BlockDevice d = Images.open(image.toString(), "vhdx", true)) {
        Convert.from(d).to(copy.toString()).format("raw").run(Images.registry());
      }
      assertArrayEquals(replayed, Files.readAllBytes(copy), "crash after " + n + " writes: "
          + "blockkit's convert vs its reads");
      if (qemuChecks < 6 || n == total) {
        qemuChecks++;
        Qemu.img("check", "-r", "all", "-f", "vhdx", image.toString()).expect(0);
        Path raw = dir.resolve("crash.raw");
        Qemu.img("convert", "-f", "vhdx", "-O", "raw", image.toString(), raw.toString())
            .expect(0);
        assertArrayEquals(replayed, Files.readAllBytes(raw), "crash after " + n + " writes: "
            + "qemu-img's replay vs blockkit's");
        Qemu.img("check", "-f", "vhdx", image.toString()).expect(0);
      }
    }
    assertTrue(dirty > 0, "no crash point left a log to replay");
    assertTrue(unapplied > 0, "no crash point left an update only in the log");
  }

  private static byte[] data(int block) {
    return Images.pattern(1000 + block, MIB);
  }

  /**
   * Creates the image and runs the session (a whole block written into each of the first blocks,
   * one flush between) with power lost after {@code n} writes; returns the writes made.
   */
  private long run(long n) throws IOException {
    Path image = dir.resolve("crash.vhdx");
    Files.deleteIfExists(image);
    Images.create(image.toString(), "vhdx", Map.of("size", Long.toString(BLOCKS * MIB),
        "block_size", "1M"));
    String rules = n == Long.MAX_VALUE ? "" : ",file.power-loss-after-writes=" + n;
    try (BlockDevice d = Images.registry().open(OptionStrings.split("driver=vhdx,file.driver="
        + "blkdebug" + rules + ",file.file.filename=" + image), Images.quiet(null))) {
      for (int b = 0; b < BLOCKS; b++) {
        d.write((long) b * MIB, ByteBuffer.wrap(data(b)));
        d.flush();
      }
      BlockDevice debug = d.child().orElseThrow();
      return ((Number) debug.info().formatSpecific().get("writes")).longValue();
    } catch (IOException e) {
      return -1; // after the power loss the stack may fail: what the storage holds counts
    }
  }

  /** What the image reads as with the header's log GUID cleared (the file's own bytes only). */
  private byte[] readIgnoringTheLog(Path image) throws IOException {
    byte[] bytes = Files.readAllBytes(image);
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    for (int at : new int[] {64 * 1024, 128 * 1024}) {
      Arrays.fill(bytes, at + 48, at + 64, (byte) 0);
      b.putInt(at + 4, 0);
      CRC32C crc = new CRC32C();
      crc.update(bytes, at, 4096);
      b.putInt(at + 4, (int) crc.getValue());
    }
    Path copy = dir.resolve("no-log.vhdx");
    Files.write(copy, bytes);
    try (BlockDevice d = Images.open(copy.toString(), "vhdx", true)) {
      return Images.readAll(d);
    }
  }
}
