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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
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
 * calls the image clean and qemu-img compare finds every byte that read before the repair
 * unchanged (a block cut short by the end of the file keeps what the file held, padded with
 * zeros; an entry sharing a physical block keeps a copy of it).
 */
class QemuRepairTest {
  private static final int MIB = 1 << 20;
  private static final long SIZE = 8L * MIB;
  private static final int MAP = 512;
  private static final int BLOCKS_ALLOCATED = 388;
  private static final int ZERO = 0xfffffffe;

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

  /** What the repaired disk reads, changed from the healthy one (blocks 0..3 written). */
  interface Expected {
    void apply(byte[] disk);
  }

  static Arguments broken(String name, Breakage how, int ourCorruptions, int ourLeaks,
      boolean qemuSeesIt, CheckMode repair, Expected expected) {
    return Arguments.of(name, how, ourCorruptions, ourLeaks, qemuSeesIt, repair, expected);
  }

  private static final Expected UNCHANGED = disk -> { };

  static Stream<Arguments> cases() {
    return Stream.of(
        broken("block 5 shares physical block 1", (f, d) -> entry(f, 5, 1), 1, 0, true,
            CheckMode.REPAIR_ALL, disk -> put(disk, 5, block(1))),
        broken("blocks 5 and 6 share physical block 1", (f, d) -> {
          entry(f, 5, 1);
          entry(f, 6, 1);
        }, 2, 0, true, CheckMode.REPAIR_ALL, disk -> {
          put(disk, 5, block(1));
          put(disk, 6, block(1));
        }),
        broken("block 6 points out of range", (f, d) -> entry(f, 6, 100), 1, 0, true,
            CheckMode.REPAIR_ALL, UNCHANGED),
        broken("block 3's data cut by the end of the file", (f, d) -> f.truncate(d + 3L * MIB
            + 4096), 1, 0, false, CheckMode.REPAIR_ALL, disk -> zero(disk, 3, 4096)),
        broken("the last block cut short by 512 KiB (truncate -s -512K)", (f, d) -> f.truncate(
            d + 4L * MIB - 512 * 1024), 1, 0, false, CheckMode.REPAIR_ALL,
            disk -> zero(disk, 3, 512 * 1024)),
        broken("block 5 shares physical block 3, which the end of the file cuts", (f, d) -> {
          entry(f, 5, 3);
          f.truncate(d + 3L * MIB + 100);
        }, 2, 0, true, CheckMode.REPAIR_ALL, disk -> {
          zero(disk, 3, 100);
          put(disk, 5, Arrays.copyOf(block(3), 100));
        }),
        broken("blocks_allocated too small", (f, d) -> u32(f, BLOCKS_ALLOCATED, 2), 1, 0, true,
            CheckMode.REPAIR_ALL, UNCHANGED),
        broken("blocks_allocated too large", (f, d) -> u32(f, BLOCKS_ALLOCATED, 6), 0, 2, true,
            CheckMode.REPAIR_LEAKS, UNCHANGED),
        broken("2 MiB leaked after the last block", (f, d) -> f.write(ByteBuffer.allocate(2 * MIB),
            d + 4L * MIB), 0, 2, false, CheckMode.REPAIR_LEAKS, UNCHANGED),
        broken("physical block 1 unused (entry ZERO)", (f, d) -> entry(f, 1, ZERO), 0, 1,
            true, CheckMode.REPAIR_LEAKS, disk -> zero(disk, 1, 0)));
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

  /** {@code data} at the start of virtual block {@code b}. */
  private static void put(byte[] disk, int b, byte[] data) {
    System.arraycopy(data, 0, disk, b * MIB, data.length);
  }

  /** Zeros from byte {@code from} of virtual block {@code b} to its end. */
  private static void zero(byte[] disk, int b, int from) {
    Arrays.fill(disk, b * MIB + from, (b + 1) * MIB, (byte) 0);
  }

  /** A healthy image with blocks 0..3 written; returns its data offset. */
  private static long healthy(Path vdi) throws IOException {
    Images.create(vdi.toString(), "vdi", Map.of("size", Long.toString(SIZE)));
    try (BlockDevice img = Images.open(vdi.toString(), "vdi", false)) {
      for (int b = 0; b < 4; b++) {
        Images.write(img, (long) b * MIB, block(b));
      }
      return ((Number) img.info().formatSpecific().get("data-offset")).longValue();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void repairLeavesWhatQemuCallsCleanWithEveryReadableByteIntact(String name, Breakage how,
      int ourCorruptions, int ourLeaks, boolean qemuSeesIt, CheckMode repair, Expected expected)
      throws Exception {
    Path vdi = dir.resolve("broken.vdi");
    long dataOffset = healthy(vdi);
    Qemu.img("check", "-f", "vdi", vdi.toString()).expect(0);
    try (FileChannel f = FileChannel.open(vdi, StandardOpenOption.WRITE)) {
      how.apply(f, dataOffset);
    }

    Qemu.Result before = Qemu.img("check", "-f", "vdi", vdi.toString());
    assertEquals(qemuSeesIt ? 2 : 0, before.exitCode(), name + ": " + before.stdout()
        + before.stderr());
    byte[] readable;
    try (BlockDevice img = Images.open(vdi.toString(), "vdi", true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(ourCorruptions, r.corruptions(), name + ": " + r.messages());
      assertEquals(ourLeaks, r.leaks(), name + ": " + r.messages());
      readable = Images.salvage(img);
    }
    try (BlockDevice img = Images.open(vdi.toString(), "vdi", false)) {
      CheckReport r = img.check(repair);
      assertTrue(r.isClean(), name + ": " + r.messages());
      assertEquals(ourCorruptions, r.corruptionsFixed(), name);
      assertEquals(ourLeaks, r.leaksFixed(), name);
    }

    assertQemuCallsClean(vdi, name);
    byte[] model = new byte[(int) SIZE];
    for (int b = 0; b < 4; b++) {
      put(model, b, block(b));
    }
    expected.apply(model);
    assertEquals(-1, Images.mismatch(model, readable), name + ": the model is what read before");
    assertQemuReads(vdi, model, dir, name);
  }

  private static void assertQemuCallsClean(Path vdi, String name) throws IOException {
    Qemu.Result after = Qemu.img("check", "-f", "vdi", vdi.toString());
    assertEquals(0, after.exitCode(), name + ": " + after.stdout() + after.stderr());
    assertTrue(after.stdout().contains("No errors were found"), after.stdout());
  }

  private static void assertQemuReads(Path vdi, byte[] expected, Path dir, String name)
      throws IOException {
    Path raw = dir.resolve("expected.raw");
    Files.write(raw, expected);
    Qemu.Result compare = Qemu.img("compare", "-f", "vdi", "-F", "raw", vdi.toString(),
        raw.toString());
    assertEquals(0, compare.exitCode(), name + ": " + compare.stdout() + compare.stderr());
  }

  /** Random damage: map entries, the allocated count and where the file ends. */
  record Damage(List<Integer> entries, int count, int cutKiB) {}

  @Provide
  Arbitrary<Damage> damages() {
    Arbitrary<Integer> entry = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(2, Arbitraries.just(-1)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(ZERO)),
        net.jqwik.api.Tuple.of(6, Arbitraries.integers().between(0, 7)),
        net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(8, 1000)));
    return Combinators.combine(entry.list().ofSize(8), Arbitraries.integers().between(0, 8),
        Arbitraries.integers().between(0, 8 * 1024)).as(Damage::new);
  }

  /**
   * Whatever the damage: after our repair of all, qemu-img check calls the image clean and
   * qemu-img reads every byte that our salvaging read got before the repair (zeros where that
   * read failed).
   */
  @Property(tries = 15)
  void randomDamageRepairsToWhatQemuCallsCleanAndReadsTheSame(@ForAll("damages") Damage d)
      throws Exception {
    Qemu.require("qemu-img");
    Path tmp = Files.createTempDirectory("qemu-repair");
    Path vdi = tmp.resolve("damaged.vdi");
    try {
      long dataOffset = healthy(vdi);
      try (FileChannel f = FileChannel.open(vdi, StandardOpenOption.WRITE)) {
        for (int b = 0; b < 8; b++) {
          entry(f, b, d.entries().get(b));
        }
        u32(f, BLOCKS_ALLOCATED, d.count());
        f.truncate(Math.min(f.size(), dataOffset + 1024L * d.cutKiB()));
      }
      byte[] readable;
      try (BlockDevice img = Images.open(vdi.toString(), "vdi", true)) {
        readable = Images.salvage(img);
      }
      try (BlockDevice img = Images.open(vdi.toString(), "vdi", false)) {
        CheckReport r = img.check(CheckMode.REPAIR_ALL);
        assertTrue(r.isClean(), d + ": " + r.messages());
      }
      assertQemuCallsClean(vdi, d.toString());
      assertQemuReads(vdi, readable, tmp, d.toString());
    } finally {
      try (Stream<Path> files = Files.list(tmp)) {
        for (Path p : files.toList()) {
          Files.delete(p);
        }
      }
      Files.delete(tmp);
    }
  }
}
