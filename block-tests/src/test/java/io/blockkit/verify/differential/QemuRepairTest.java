package io.blockkit.verify.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Check and repair of broken VDI files, side by side with {@code qemu-img check} (which cannot
 * repair VDI): each case is first built as a healthy 8 MiB image by blockkit over the file
 * protocol (virtual blocks 0..3 in physical blocks 0..3), then broken by poking the file. Our
 * check must find it; qemu-img check must agree where it looks at all (duplicates, entries out of
 * range and the allocated count, which it calls corruptions); after our repair qemu-img check
 * calls the image clean and qemu-img compare finds the good blocks' data intact (lost blocks
 * read as zeros).
 */
class QemuRepairTest {
  private static final int MIB = 1 << 20;
  private static final long SIZE = 8L * MIB;
  private static final int MAP = 512;
  private static final int BLOCKS_ALLOCATED = 388;

  @TempDir
  Path dir;

  @BeforeEach
  void needsQemu() {
    Qemu.require("qemu-img");
  }

  /** How to break the image, on the open channel, given its data offset. */
  interface Breakage {
    void apply(FileChannel f, long dataOffset) throws IOException;
  }

  static Arguments broken(String name, Breakage how, int ourCorruptions, int ourLeaks,
      boolean qemuSeesIt, CheckMode repair, int... lostBlocks) {
    return Arguments.of(name, how, ourCorruptions, ourLeaks, qemuSeesIt, repair, lostBlocks);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        broken("block 5 shares physical block 1", (f, d) -> entry(f, 5, 1), 1, 0, true,
            CheckMode.REPAIR_ALL, 5),
        broken("block 6 points out of range", (f, d) -> entry(f, 6, 100), 1, 0, true,
            CheckMode.REPAIR_ALL, 6),
        broken("block 3's data cut by the end of the file", (f, d) -> f.truncate(d + 3L * MIB
            + 4096), 1, 0, false, CheckMode.REPAIR_ALL, 3),
        broken("blocks_allocated too small", (f, d) -> u32(f, BLOCKS_ALLOCATED, 2), 1, 0, true,
            CheckMode.REPAIR_ALL),
        broken("blocks_allocated too large", (f, d) -> u32(f, BLOCKS_ALLOCATED, 6), 0, 2, true,
            CheckMode.REPAIR_LEAKS),
        broken("2 MiB leaked after the last block", (f, d) -> f.write(ByteBuffer.allocate(2 * MIB),
            d + 4L * MIB), 0, 2, false, CheckMode.REPAIR_LEAKS),
        broken("physical block 1 unused (entry ZERO)", (f, d) -> entry(f, 1, 0xfffffffe), 0, 1,
            true, CheckMode.REPAIR_LEAKS, 1));
  }

  private static void entry(FileChannel f, int block, int value) throws IOException {
    u32(f, MAP + 4L * block, value);
  }

  private static void u32(FileChannel f, long offset, int value) throws IOException {
    f.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), offset);
  }

  private static byte[] block(int b) {
    return Images.pattern(1000 + b, MIB);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void repairLeavesWhatQemuCallsCleanWithGoodDataIntact(String name, Breakage how,
      int ourCorruptions, int ourLeaks, boolean qemuSeesIt, CheckMode repair, int[] lost)
      throws Exception {
    Path vdi = dir.resolve("broken.vdi");
    Images.create(vdi.toString(), "vdi", Map.of("size", Long.toString(SIZE)));
    long dataOffset;
    try (BlockDevice img = Images.open(vdi.toString(), "vdi", false)) {
      for (int b = 0; b < 4; b++) {
        Images.write(img, (long) b * MIB, block(b));
      }
      dataOffset = ((Number) img.info().formatSpecific().get("data-offset")).longValue();
    }
    Qemu.img("check", "-f", "vdi", vdi.toString()).expect(0);
    try (FileChannel f = FileChannel.open(vdi, StandardOpenOption.WRITE)) {
      how.apply(f, dataOffset);
    }

    Qemu.Result before = Qemu.img("check", "-f", "vdi", vdi.toString());
    assertEquals(qemuSeesIt ? 2 : 0, before.exitCode(), name + ": " + before.stdout()
        + before.stderr());
    try (BlockDevice img = Images.open(vdi.toString(), "vdi", true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(ourCorruptions, r.corruptions(), name + ": " + r.messages());
      assertEquals(ourLeaks, r.leaks(), name + ": " + r.messages());
    }
    try (BlockDevice img = Images.open(vdi.toString(), "vdi", false)) {
      CheckReport r = img.check(repair);
      assertTrue(r.isClean(), name + ": " + r.messages());
      assertEquals(ourCorruptions, r.corruptionsFixed(), name);
      assertEquals(ourLeaks, r.leaksFixed(), name);
    }

    Qemu.Result after = Qemu.img("check", "-f", "vdi", vdi.toString());
    assertEquals(0, after.exitCode(), name + ": " + after.stdout() + after.stderr());
    assertTrue(after.stdout().contains("No errors were found"), after.stdout());
    byte[] expected = new byte[(int) SIZE];
    for (int b = 0; b < 4; b++) {
      final int block = b;
      if (java.util.Arrays.stream(lost).noneMatch(x -> x == block)) {
        System.arraycopy(block(b), 0, expected, b * MIB, MIB);
      }
    }
    Path raw = dir.resolve("expected.raw");
    Files.write(raw, expected);
    Qemu.Result compare = Qemu.img("compare", "-f", "vdi", "-F", "raw", vdi.toString(),
        raw.toString());
    assertEquals(0, compare.exitCode(), name + ": " + compare.stdout() + compare.stderr());
  }
}
