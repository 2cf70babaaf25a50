package io.blockkit.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Broken images in the manner of qemu's iotests 060, 080 and 108: headers that must be refused
 * with an error naming the field, and tables and refcounts that check must classify as qemu-img
 * check does (exit 0, 2 corruptions, 3 leaks), repair, and leave clean for qemu-img, every byte
 * that read before reading the same.
 */
class Qcow2CorruptionTest {
  private static final long CS = 65536;
  /** The layout qemu-img 7.2 gives a fresh image: header, refcount table, block, L1. */
  private static final long REFTABLE = CS;
  private static final long REFBLOCK = 2 * CS;
  private static final long L1 = 3 * CS;

  @TempDir Path dir;

  @BeforeAll
  static void qemu() {
    Tools.requireQemu();
  }

  /** A 4 MiB image with data at 0 (one L2 table at cluster 4, data from cluster 5). */
  private Path image() throws IOException {
    Path img = dir.resolve("c.qcow2");
    Files.deleteIfExists(img);
    Tools.qemuImg("create", "-q", "-f", "qcow2", img.toString(), "4M").expect(0);
    Tools.qemuIo(img, "write -P 0x5a 0 192k").expect(0);
    return img;
  }

  private interface Patch {
    void apply(RandomAccessFile f) throws IOException;
  }

  private static Patch u32(long at, int v) {
    return f -> {
      f.seek(at);
      f.writeInt(v);
    };
  }

  private static Patch u64(long at, long v) {
    return f -> {
      f.seek(at);
      f.writeLong(v);
    };
  }

  /** A cluster appended to the file, with refcount 1 and no reference: a leak. */
  private static final Patch LEAK = f -> {
    long c = (f.length() + CS - 1) / CS;
    f.setLength((c + 1) * CS);
    f.seek(REFBLOCK + 2 * c);
    f.writeShort(1);
  };

  private static void patch(Path img, Patch p) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      p.apply(f);
    }
  }

  static Stream<Arguments> brokenHeaders() {
    return Stream.of(
        Arguments.of("version 4", u32(4, 4), UnsupportedFeatureException.class, "version 4"),
        Arguments.of("cluster_bits 8", u32(20, 8), CorruptImageException.class,
            "header.cluster_bits"),
        Arguments.of("cluster_bits 22", u32(20, 22), CorruptImageException.class,
            "header.cluster_bits"),
        Arguments.of("L1 too small", u32(36, 0), CorruptImageException.class, "l1_size"),
        Arguments.of("L1 huge", u32(36, 0x1000000), CorruptImageException.class, "l1_size"),
        Arguments.of("L1 unaligned", u64(40, L1 + 512), CorruptImageException.class,
            "L1 table"),
        Arguments.of("L1 in the header", u64(40, 0), CorruptImageException.class, "L1 table"),
        Arguments.of("refcount table past the end", u64(48, 1L << 40),
            CorruptImageException.class, "refcount table"),
        Arguments.of("no refcount table", u32(56, 0), CorruptImageException.class,
            "refcount_table_clusters"),
        Arguments.of("refcount table over 8 MiB", u32(56, 129), CorruptImageException.class,
            "refcount_table_clusters"),
        Arguments.of("snapshots past the end", u32(60, 1000), CorruptImageException.class,
            "snapshot table"),
        Arguments.of("too many snapshots", u32(60, 65537), CorruptImageException.class,
            "nb_snapshots"),
        Arguments.of("backing name too long", (Patch) f -> {
          f.seek(8);
          f.writeLong(512);
          f.writeInt(1024);
        }, CorruptImageException.class, "backing_file_offset"),
        Arguments.of("refcount order 7", u32(96, 7), CorruptImageException.class,
            "refcount_order"),
        Arguments.of("header length past the cluster", u32(100, 65544),
            CorruptImageException.class, "header_length"),
        Arguments.of("header extension too long", u32(116, 0x7fffffff),
            CorruptImageException.class, "length"),
        Arguments.of("compression type 2", (Patch) f -> {
          f.seek(72);
          f.writeLong(Features.COMPRESSION_TYPE);
          f.seek(104);
          f.write(2);
        }, UnsupportedFeatureException.class, "compression type 2"),
        Arguments.of("compression type without its bit", (Patch) f -> {
          f.seek(104);
          f.write(1);
        }, CorruptImageException.class, "compression_type"),
        Arguments.of("encrypted", u32(32, 1), UnsupportedFeatureException.class, "encrypt"),
        Arguments.of("unknown incompatible bit", u64(72, 1L << 40),
            UnsupportedFeatureException.class, "bit 40"),
        Arguments.of("extended L2 with 4K clusters", (Patch) f -> {
          f.seek(20);
          f.writeInt(12);
          f.seek(72);
          f.writeLong(Features.EXTENDED_L2);
        }, CorruptImageException.class, "cluster_bits"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenHeaders")
  void brokenHeadersAreRefusedNamingTheField(String label, Patch p,
      Class<? extends BlockException> type, String named) throws IOException {
    Path img = image();
    patch(img, p);
    for (boolean ro : new boolean[] {true, false}) {
      BlockException e = assertThrows(BlockException.class, () -> Tools.open(img, ro).close(),
          label);
      assertInstanceOf(type, e, label + ": " + e);
      assertTrue(e.getMessage().contains(named), label + ": " + e.getMessage());
    }
  }

  @Test
  void unknownIncompatibleBitsAreNamedFromTheFeatureTable() throws IOException {
    Path img = image();
    // The feature name table follows the 112-byte header: rename its first entry to bit 9.
    patch(img, (Patch) f -> {
      f.seek(112 + 8);
      f.write(new byte[] {0, 9});
      f.write("time travel".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      f.write(new byte[46 - 11]);
      f.seek(72);
      f.writeLong(1L << 9);
    });
    BlockException e = assertThrows(BlockException.class, () -> Tools.open(img, true).close());
    assertTrue(e.getMessage().contains("'time travel' (bit 9)"), e.getMessage());
  }

  /** Breaks in the tables: what check says (as qemu), what repair does, what reads keep. */
  static Stream<Arguments> brokenTables() {
    long l2 = 4 * CS;
    long data = 5 * CS;
    return Stream.of(
        Arguments.of("leaked cluster (refcount of a free cluster)", LEAK, 3),
        Arguments.of("refcount of a data cluster zeroed", (Patch) f -> {
          f.seek(REFBLOCK + 2 * 5);
          f.writeShort(0);
        }, 2),
        Arguments.of("refcount of a data cluster too high", (Patch) f -> {
          f.seek(REFBLOCK + 2 * 6);
          f.writeShort(2);
        }, 2),
        Arguments.of("L2 entry with reserved bits", u64(l2 + 8, 0x8000000000060000L | 0x100), 2),
        Arguments.of("L2 entry unaligned", u64(l2 + 16, 0x8000000000070200L), 2),
        Arguments.of("L2 entry past the end of the file", u64(l2 + 16, 0x8000010000000000L), 2),
        Arguments.of("COPIED flag missing", u64(l2, data), 2),
        Arguments.of("two entries share a cluster", u64(l2 + 16, 0x8000000000050000L), 2),
        Arguments.of("L1 entry past the end of the file", u64(L1, 0x8000010000000000L), 2),
        Arguments.of("L1 entry with reserved bits", u64(L1, 0x8000000000040000L | 1), 2),
        Arguments.of("refcount block missing", u64(REFTABLE, 0), 2),
        Arguments.of("refcount block on the L1 table", u64(REFTABLE, L1), 2));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenTables")
  void brokenTablesAreClassifiedAndRepairedKeepingEveryReadableByte(String label, Patch p,
      int qemuExit) throws IOException {
    Path img = image();
    patch(img, p);
    Tools.Result qemu = Tools.qemuImg("check", img.toString());
    assertEquals(qemuExit, qemu.exit(), label + ": qemu-img check\n" + qemu.out());
    byte[][] before = new byte[64][];
    try (BlockDevice d = Tools.open(img, true)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertEquals(qemuExit, exitCode(r), label + ": our check " + r.messages());
      for (int i = 0; i < before.length; i++) {
        try {
          before[i] = Tools.read(d, i * CS, (int) CS);
        } catch (DataUnavailableException e) {
          before[i] = null; // reported, and check flags it
          assertTrue(r.corruptions() > 0, label);
        }
      }
    }
    try (BlockDevice d = Tools.open(img, false)) {
      CheckReport r = d.check(CheckMode.REPAIR_ALL);
      assertTrue(r.isClean(), label + ": after repair " + r);
      for (int i = 0; i < before.length; i++) {
        byte[] now = Tools.read(d, i * CS, (int) CS);
        if (before[i] != null) {
          assertArrayEquals(before[i], now, label + ": cluster " + i + " changed in repair");
        }
      }
      d.write(3 * CS + 100, ByteBuffer.wrap(Tools.pattern(3, 70_000)));
    }
    Tools.Result after = Tools.qemuImg("check", img.toString());
    assertEquals(0, after.exit(), label + ": qemu-img check after our repair and a write\n"
        + after.out());
  }

  @Test
  void leaksOnlyRepairLeavesCorruptionsAlone() throws IOException {
    Path img = image();
    patch(img, LEAK);
    patch(img, (Patch) f -> {
      f.seek(REFBLOCK + 2 * 5);
      f.writeShort(0);
    });
    try (BlockDevice d = Tools.open(img, false)) {
      CheckReport r = d.check(CheckMode.REPAIR_LEAKS);
      assertEquals(1, r.leaksFixed(), r.toString());
      assertEquals(0, r.leaks(), r.toString());
      assertTrue(r.corruptions() > 0, r.toString());
    }
    assertEquals(2, Tools.qemuImg("check", img.toString()).exit());
  }

  @Test
  void corruptBitRefusesWritesUntilRepaired() throws IOException {
    Path img = image();
    patch(img, u64(72, Features.CORRUPT));
    try (BlockDevice d = Tools.open(img, false)) {
      assertArrayEquals(Tools.read(d, 0, 10), new byte[] {90, 90, 90, 90, 90, 90, 90, 90, 90,
          90});
      assertThrows(BlockException.class, () -> d.write(0, ByteBuffer.wrap(new byte[1])));
      d.check(CheckMode.REPAIR_ALL);
      d.write(0, ByteBuffer.wrap(new byte[1]));
    }
    assertEquals(0, Tools.qemuImg("check", img.toString()).exit());
    assertTrue(!Tools.qemuImg("info", img.toString()).out().contains("corrupt: true"));
  }

  private static int exitCode(CheckReport r) {
    return r.corruptions() > 0 ? 2 : r.leaks() > 0 ? 3 : 0;
  }
}
