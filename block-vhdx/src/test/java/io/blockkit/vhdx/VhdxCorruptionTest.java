package io.blockkit.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The corruption table: one field of a valid image damaged at a time. Damage that leaves no way
 * to read the image is refused at open with the error naming it; damage an open can live with is
 * reported by check (a corruption, exit 2 in the tool, or a leak, exit 3), and {@code check -r
 * all} repairs it to a clean image in which every byte that read before still reads the same.
 *
 * <p>The image: 8 MiB of 1 MiB blocks, blocks 0-2 written; log at 1 MiB, BAT at 2 MiB, metadata
 * at 3 MiB, blocks 0-2 at 4, 5 and 6 MiB (7 MiB of file).
 */
class VhdxCorruptionTest {
  private static final int MIB = TestImages.MIB;
  private static final int H1 = 64 * 1024;
  private static final int H2 = 128 * 1024;
  private static final int RT1 = 192 * 1024;
  private static final int RT2 = 256 * 1024;
  private static final int BAT = 2 * MIB;
  private static final int META = 3 * MIB;
  private static final AtomicInteger NAMES = new AtomicInteger();

  /** A damaged copy of the image: a change of its bytes (and maybe of its length). */
  private interface Damage {
    byte[] apply(byte[] image);
  }

  private static byte[] base;

  private static synchronized byte[] base() throws IOException {
    if (base == null) {
      String location = "memory:corruption-base.vhdx";
      TestImages.registry().create(location, VhdxDriver.NAME, Map.of("size", "8M",
          "block_size", "1M"));
      try (BlockDevice d = TestImages.open(location, false)) {
        for (int b = 0; b < 3; b++) {
          TestImages.write(d, (long) b * MIB, TestImages.random(b, MIB));
        }
      }
      base = raw(location);
    }
    return base.clone();
  }

  private static byte[] raw(String location) throws IOException {
    try (BlockDevice r = TestImages.registry().open(location, io.blockkit.registry.OpenParams
        .readOnlyDefaults().withFormat("raw").withWarnings(w -> { }))) {
      return TestImages.readAll(r);
    }
  }

  private static String place(byte[] image) throws IOException {
    return TestImages.putMemory("corruption-" + NAMES.incrementAndGet() + ".vhdx", image);
  }

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Changes the structure at {@code at} ({@code length} bytes, checksum at +4) and reseals it. */
  private static Damage sealed(int at, int length, Consumer<ByteBuffer> change) {
    return image -> {
      ByteBuffer b = le(image);
      change.accept(b);
      ByteBuffer s = ByteBuffer.wrap(image, at, length).slice().order(ByteOrder.LITTLE_ENDIAN);
      Checksums.seal(s, 4);
      return image;
    };
  }

  private static Damage bat(int index, long value) {
    return image -> {
      le(image).putLong(BAT + 8 * index, value);
      return image;
    };
  }

  private static Damage flip(int at) {
    return image -> {
      image[at] ^= 0x10;
      return image;
    };
  }

  private static Damage cut(int length) {
    return image -> Arrays.copyOf(image, length);
  }

  private static final long FULLY = BatState.FULLY_PRESENT;

  // ---------------------------------------------------------------- refused at open

  private record Refused(String name, Damage damage, Class<? extends Exception> error,
      String says) {}

  @TestFactory
  Stream<DynamicTest> damageNoOpenCanLiveWithIsRefused() {
    return Stream.of(
        new Refused("both headers' checksums fail", image -> flip(H2 + 8).apply(
            flip(H1 + 8).apply(image)), CorruptImageException.class, "no valid VHDX header"),
        new Refused("two different headers with one sequence number", image -> {
          long seq = le(image).getLong(H1 + 8);
          return sealed(H2, 4096, b -> b.putLong(H2 + 8, seq).put(H2 + 200, (byte) 1))
              .apply(image);
        }, CorruptImageException.class, "sequence"),
        new Refused("format version 2", image -> sealed(H1, 4096, b -> b.putShort(H1 + 66,
            (short) 2)).apply(sealed(H2, 4096, b -> b.putShort(H2 + 66, (short) 2))
            .apply(image)), UnsupportedFeatureException.class, "version 2"),
        new Refused("log not on a megabyte", image -> sealed(H1, 4096, b -> b.putLong(H1 + 72,
            MIB + 4096)).apply(sealed(H2, 4096, b -> b.putLong(H2 + 72, MIB + 4096))
            .apply(image)), CorruptImageException.class, "log location"),
        new Refused("both region tables' checksums fail", image -> flip(RT2 + 20).apply(
            flip(RT1 + 20).apply(image)), CorruptImageException.class, "region tables"),
        new Refused("an unknown region marked required", image -> {
          Damage d = at -> at;
          for (int rt : new int[] {RT1, RT2}) {
            d = then(d, sealed(rt, 64 * 1024, b -> {
              b.putInt(rt + 8, 3);
              b.putLong(rt + 16 + 64, 0x1234L).putLong(rt + 16 + 64 + 8, 0x5678L);
              b.putLong(rt + 16 + 64 + 16, 20L * MIB).putInt(rt + 16 + 64 + 24, MIB)
                  .putInt(rt + 16 + 64 + 28, 1);
            }));
          }
          return d.apply(image);
        }, UnsupportedFeatureException.class, "requires region"),
        new Refused("the metadata region over the BAT", image -> {
          Damage d = at -> at;
          for (int rt : new int[] {RT1, RT2}) {
            d = then(d, sealed(rt, 64 * 1024, b -> b.putLong(rt + 16 + 32 + 16, BAT)));
          }
          return d.apply(image);
        }, CorruptImageException.class, "overlapping"),
        new Refused("the BAT over the log", image -> {
          Damage d = at -> at;
          for (int rt : new int[] {RT1, RT2}) {
            d = then(d, sealed(rt, 64 * 1024, b -> b.putLong(rt + 16 + 16, MIB)));
          }
          return d.apply(image);
        }, CorruptImageException.class, "the log"),
        new Refused("metadata signature", flip(META), CorruptImageException.class,
            "metadata table signature"),
        new Refused("block size 3 MiB", image -> {
          le(image).putInt(META + 65536, 3 * MIB);
          return image;
        }, CorruptImageException.class, "block size"),
        new Refused("logical sector size 1024", image -> {
          le(image).putInt(META + 65536 + 32, 1024);
          return image;
        }, CorruptImageException.class, "logical sector size"),
        new Refused("virtual size not whole sectors", image -> {
          le(image).putLong(META + 65536 + 8, 8L * MIB + 100);
          return image;
        }, CorruptImageException.class, "virtual disk size"),
        new Refused("a disk larger than its BAT", image -> {
          le(image).putLong(META + 65536 + 8, 1L << 40);
          return image;
        }, CorruptImageException.class, "BAT region length"),
        new Refused("an unknown required metadata item", image -> {
          ByteBuffer b = le(image);
          b.putShort(META + 10, (short) 6);
          b.putLong(META + 32 + 5 * 32, 0x99L).putInt(META + 32 + 5 * 32 + 24, 4);
          return image;
        }, UnsupportedFeatureException.class, "requires metadata item"),
        new Refused("the metadata table cut off", cut(META + 1000), CorruptImageException.class,
            "truncated"),
        new Refused("not a VHDX", flip(0), CorruptImageException.class, "vhdxfile"))
        .map(r -> DynamicTest.dynamicTest(r.name(), () -> {
          String location = place(r.damage().apply(base()));
          for (boolean readOnly : new boolean[] {true, false}) {
            Exception e = assertThrows(Exception.class, () -> TestImages.open(location,
                readOnly).close());
            assertInstanceOf(r.error(), e, r.name());
            assertTrue(e.getMessage().contains(r.says()), r.name() + ": " + e.getMessage());
          }
        }));
  }

  private static Damage then(Damage first, Damage second) {
    return image -> second.apply(first.apply(image));
  }

  // ---------------------------------------------------------------- reported and repaired

  private record Reported(String name, Damage damage, long corruptions, long leaks,
      String says, int[] failingBlocks) {}

  @TestFactory
  Stream<DynamicTest> damageCheckReportsAndRepairs() {
    return Stream.of(
        new Reported("a header slot's checksum fails", flip(H1 + 8), 0, 0, "header slot",
            new int[0]),
        new Reported("a region table copy's checksum fails", flip(RT1 + 20), 0, 0,
            "first copy", new int[0]),
        new Reported("a block past the end of the file", bat(3, (40L << 20) | FULLY), 1, 0,
            "past the end of the file", new int[] {3}),
        new Reported("a block cut short", cut(6 * MIB + 1000), 1, 0, "cut short",
            new int[] {2}),
        new Reported("two blocks in one place", bat(1, (4L << 20) | FULLY), 1, 0,
            "overlaps space another block uses", new int[0]),
        new Reported("a block over the BAT", bat(3, (2L << 20) | FULLY), 1, 0,
            "overlaps the header section, the log or a region", new int[0]),
        new Reported("a reserved state", bat(4, 4), 1, 0, "reserved state", new int[0]),
        new Reported("reserved bits", image -> {
          le(image).putLong(BAT, le(image).getLong(BAT) | 0x100);
          return image;
        }, 1, 0, "reserved bits", new int[0]),
        new Reported("PARTIALLY_PRESENT in a dynamic image", image -> {
          le(image).putLong(BAT + 8, (le(image).getLong(BAT + 8) & ~7L) | 7);
          return image;
        }, 1, 0, "PARTIALLY_PRESENT", new int[0]),
        new Reported("space after the last block", image -> Arrays.copyOf(image, 9 * MIB), 0,
            1, "Leaked", new int[0]))
        .map(r -> DynamicTest.dynamicTest(r.name(), () -> reportedAndRepaired(r)));
  }

  private static void reportedAndRepaired(Reported r) throws IOException {
    String location = place(r.damage().apply(base()));
    List<byte[]> before;
    try (BlockDevice d = TestImages.open(location, true)) {
      CheckReport report = d.check(CheckMode.REPORT);
      assertEquals(r.corruptions(), report.corruptions(), r.name() + ": " + report);
      assertEquals(r.leaks(), report.leaks(), r.name() + ": " + report);
      assertTrue(report.messages().stream().anyMatch(m -> m.contains(r.says())),
          r.name() + ": " + report.messages());
      before = blocks(d, r);
    }
    try (BlockDevice d = TestImages.open(location, false)) {
      CheckReport repaired = d.check(CheckMode.REPAIR_ALL);
      assertTrue(repaired.isClean(), r.name() + ": " + repaired);
      assertEquals(r.corruptions(), repaired.corruptionsFixed(), r.name() + ": " + repaired);
      assertEquals(r.leaks(), repaired.leaksFixed(), r.name() + ": " + repaired);
      List<byte[]> after = blocks(d, new Reported(r.name(), null, 0, 0, null, new int[0]));
      for (int b = 0; b < before.size(); b++) {
        if (before.get(b) != null) {
          assertArrayEquals(before.get(b), after.get(b), r.name() + ": block " + b
              + " read before the repair but changed");
        }
      }
    }
    try (BlockDevice d = TestImages.open(location, true)) {
      assertTrue(d.check(CheckMode.REPORT).isClean(), r.name() + ": after reopening");
    }
    qemuImgCheckPasses(location, r.name());
  }

  /** qemu-img check (when installed; required under CI=true) finds the repaired image clean. */
  private static void qemuImgCheckPasses(String location, String name) throws IOException {
    TestImages.requireQemu();
    Path file = Files.createTempFile("vhdx-repaired", ".vhdx");
    try {
      TestImages.dump(location, file);
      TestImages.Result q = TestImages.run("qemu-img", "check", "-f", "vhdx", file.toString());
      assertEquals(0, q.exit(), name + ": qemu-img check of the repaired image:\n" + q.output());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** Each block's bytes, or null where reading fails, which only the damaged blocks may. */
  private static List<byte[]> blocks(BlockDevice d, Reported r) throws IOException {
    List<byte[]> out = new ArrayList<>();
    for (int b = 0; b < d.size() / MIB; b++) {
      try {
        out.add(TestImages.read(d, (long) b * MIB, MIB));
      } catch (DataUnavailableException e) {
        int block = b;
        if (Arrays.stream(r.failingBlocks()).noneMatch(x -> x == block)) {
          fail(r.name() + ": block " + b + " failed to read: " + e.getMessage());
        }
        out.add(null);
      }
    }
    for (int b : r.failingBlocks()) {
      assertEquals(null, out.get(b), r.name() + ": block " + b + " should fail to read");
    }
    return out;
  }
}
