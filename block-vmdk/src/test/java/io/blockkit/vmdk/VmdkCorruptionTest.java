package io.blockkit.vmdk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The corruption table: a 1 MiB monolithicSparse image made by qemu-img (two grains written),
 * one field or entry damaged per row, and what blockkit must say: refuse the open naming the
 * field, or check with the right kind of finding, with qemu-img check's verdict beside it.
 */
class VmdkCorruptionTest {
  /** qemu-img's layout for 1 MiB: RGD at 21, RGT at 22, GD at 26, GT at 27, grains from 128. */
  private static final int GT = 27 * 512;
  private static final int RGT = 22 * 512;

  @TempDir Path dir;
  private Path img;

  @BeforeEach
  void image() throws IOException {
    Tools.requireQemu();
    img = dir.resolve("c.vmdk");
    Tools.ok("qemu-img", "create", "-f", "vmdk", img.toString(), "1M");
    Tools.qemuIo(img, "write -P 1 0 64k", "write -P 2 64k 64k");
  }

  private void poke(long offset, int value) throws IOException {
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), offset);
    }
  }

  /** Sets entry {@code i} of the grain table and of its redundant copy. */
  private void pokeEntry(int i, int value) throws IOException {
    poke(GT + 4L * i, value);
    poke(RGT + 4L * i, value);
  }

  private void pokeLong(long offset, long value) throws IOException {
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value), offset);
    }
  }

  /** The image's bytes, one entry per 64 KiB grain; null where the grain cannot be read. */
  private byte[][] grains() throws IOException {
    byte[][] out = new byte[16][];
    try (BlockDevice d = Tools.open(img, true)) {
      for (int g = 0; g < out.length; g++) {
        try {
          out[g] = Tools.read(d, g * 65536L, 65536);
        } catch (DataUnavailableException unreadable) {
          out[g] = null;
        }
      }
    }
    return out;
  }

  /**
   * Repairs with {@code mode}; the result must be clean (again after a reopen, and in qemu-img
   * check), and every grain that read before reads the same.
   */
  private CheckReport repairKeepingReads(CheckMode mode) throws IOException {
    byte[][] before = grains();
    CheckReport r;
    try (BlockDevice d = Tools.open(img, false)) {
      r = d.check(mode);
    }
    assertTrue(r.isClean(), mode + " left " + r);
    assertTrue(check().isClean(), "after a reopen: " + check());
    byte[][] after = grains();
    for (int g = 0; g < before.length; g++) {
      if (before[g] != null) {
        assertArrayEquals(before[g], after[g], "grain " + g + " reads as before the repair");
      }
      assertNotNull(after[g], "grain " + g + " reads after the repair");
    }
    assertEquals(0, Tools.run("qemu-img", "check", img.toString()).exit(),
        "qemu-img check after the repair");
    return r;
  }

  private CheckReport check() throws IOException {
    try (BlockDevice d = Tools.open(img, true)) {
      return d.check(CheckMode.REPORT);
    }
  }

  @Test
  void theUndamagedImageIsClean() throws IOException {
    assertTrue(check().isClean(), check().messages().toString());
    assertEquals(0, Tools.run("qemu-img", "check", img.toString()).exit());
  }

  /**
   * Header fields whose bad values the open refuses, naming the field; whether qemu-img refuses
   * them too (it opens a grain size that is not a power of two and a directory past the end).
   */
  static Stream<Arguments> badHeaders() {
    return Stream.of(Arguments.of("grainSize 0", 20, 0L, "header.grainSize", true),
        Arguments.of("grainSize not a power of two", 20, 100L, "header.grainSize", false),
        Arguments.of("numGTEsPerGT 1024", 44, 1024L, "header.numGTEsPerGT", true),
        Arguments.of("version 4", 4, 4L, "header.version", true),
        Arguments.of("capacity of 2^60 sectors", 12, 1L << 60, "header.capacity", true),
        Arguments.of("GD past the end", 56, 1L << 30, "grain directory", false),
        Arguments.of("GD over the descriptor", 56, 1L, "header.gdOffset", false),
        Arguments.of("redundant GD over the descriptor", 48, 2L, "header.rgdOffset", false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badHeaders")
  void damagedHeadersAreRefusedNamingTheField(String what, int offset, long value, String field,
      boolean qemuRefuses) throws IOException {
    if (offset == 4 || offset == 44) {
      poke(offset, (int) value);
    } else {
      pokeLong(offset, value);
    }
    BlockException e = assertThrows(BlockException.class, () -> Tools.open(img, true).close());
    assertTrue(e.getMessage().contains(field) && e.getMessage().contains("c.vmdk"),
        what + ": " + e.getMessage());
    assertEquals(qemuRefuses, Tools.run("qemu-img", "info", img.toString()).exit() != 0, what
        + ": qemu-img's verdict");
  }

  @Test
  void aTruncatedFileIsRefused() throws IOException {
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.truncate(20 * 512);
    }
    BlockException e = assertThrows(BlockException.class, () -> Tools.open(img, true).close());
    assertTrue(e.getMessage().contains("c.vmdk"), e.getMessage());
  }

  /**
   * A grain past the end: a corruption, and its reads fail naming the grain. qemu-img stops its
   * check at the first one ("Check failed", exit 1); blockkit completes the check (exit 2).
   */
  @Test
  void aGrainPastTheEndIsACorruption() throws IOException {
    pokeEntry(0, 99999);
    CheckReport r = check();
    assertEquals(1, r.corruptions(), r.messages().toString());
    assertTrue(r.messages().stream().anyMatch(m -> m.startsWith("ERROR: ")
        && m.contains("grain 0") && m.contains("points after the end")), r.messages().toString());
    try (BlockDevice d = Tools.open(img, true)) {
      DataUnavailableException e = assertThrows(DataUnavailableException.class,
          () -> Tools.read(d, 0, 512));
      assertTrue(e.getMessage().contains("grain 0"), e.getMessage());
      assertEquals(2, Tools.read(d, 65536, 1)[0], "the other grain still reads");
    }
    Tools.Result q = Tools.run("qemu-img", "check", img.toString());
    assertTrue(q.output().contains("points after EOF"), q.output());
    CheckReport fixed = repairKeepingReads(CheckMode.REPAIR_ALL);
    assertEquals(1, fixed.corruptionsFixed(), fixed.toString());
    try (BlockDevice d = Tools.open(img, true)) {
      assertEquals(0, Tools.read(d, 0, 65536)[100], "nothing read there: it reads zeros");
    }
  }

  @Test
  void checkWithLeakRepairLeavesCorruptionsAlone() throws IOException {
    pokeEntry(0, 99999);
    try (BlockDevice d = Tools.open(img, false)) {
      CheckReport r = d.check(CheckMode.REPAIR_LEAKS);
      assertEquals(1, r.corruptions(), r.toString());
    }
    try (BlockDevice d = Tools.open(img, true)) {
      assertThrows(DataUnavailableException.class, () -> Tools.read(d, 0, 512));
    }
  }

  /** A grain table entry of the directory outside the file: rebuilt from the redundant one. */
  @Test
  void aGrainTableOutsideTheFileIsRestoredFromItsRedundantCopy() throws IOException {
    poke(26 * 512, 99999);
    CheckReport r = check();
    assertEquals(1, r.corruptions(), r.messages().toString());
    assertTrue(r.messages().get(0).contains("grain directory entry 0 points to sector 99999"),
        r.messages().toString());
    repairKeepingReads(CheckMode.REPAIR_ALL);
    try (BlockDevice d = Tools.open(img, true)) {
      assertEquals(1, Tools.read(d, 0, 1)[0], "grain 0, found through the redundant table");
      assertEquals(2, Tools.read(d, 65536, 1)[0]);
    }
  }

  /** Entries qemu-img check does not examine (it exits 0): blockkit reports corruptions. */
  @Test
  void grainsInTheHeaderOrSharedAreCorruptions() throws IOException {
    pokeEntry(0, 1 + 21); // grain 0 over the redundant grain table
    pokeEntry(1, 1 + 21);
    CheckReport r = check();
    assertEquals(2, r.corruptions(), r.messages().toString());
    assertTrue(r.messages().stream().anyMatch(m -> m.contains("overlaps the header")),
        r.messages().toString());
    try (BlockDevice d = Tools.open(img, false)) {
      BlockException e = assertThrows(BlockException.class,
          () -> Tools.writeAll(d, 0, new byte[] {1}));
      assertTrue(e.getMessage().contains("overwrite metadata"), e.getMessage());
    }
    assertEquals(0, Tools.run("qemu-img", "check", img.toString()).exit());
    CheckReport fixed = repairKeepingReads(CheckMode.REPAIR_ALL);
    assertEquals(2, fixed.corruptionsFixed(), fixed.toString());
    byte[] tables = Arrays.copyOfRange(Files.readAllBytes(img), 21 * 512, 128 * 512);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.writeAll(d, 0, new byte[65536]);
    }
    assertArrayEquals(tables, Arrays.copyOfRange(Files.readAllBytes(img), 21 * 512, 128 * 512),
        "a write into a repaired grain leaves the tables alone");
  }

  @Test
  void twoEntriesForOneGrainAreACorruption() throws IOException {
    pokeEntry(1, 128); // grain 1 -> grain 0's sector
    CheckReport r = check();
    assertEquals(1, r.corruptions(), r.messages().toString());
    assertTrue(r.messages().stream().anyMatch(m -> m.contains("both point to sector 128")),
        r.messages().toString());
    repairKeepingReads(CheckMode.REPAIR_ALL);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.writeAll(d, 65536, new byte[] {7});
      assertEquals(1, Tools.read(d, 0, 1)[0], "grain 1 has a copy of its own now");
    }
  }

  /** What a crash leaves: an appended grain no table names, a lagging redundant entry. */
  @Test
  void crashLeftoversAreLeaks() throws IOException {
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(65536), Files.size(img));
    }
    poke(RGT + 4, 0);
    CheckReport r = check();
    assertEquals(0, r.corruptions(), r.messages().toString());
    assertEquals(2, r.leaks(), r.messages().toString());
    assertEquals(0, Tools.run("qemu-img", "check", img.toString()).exit());
    try (BlockDevice d = Tools.open(img, true)) {
      assertEquals(2, Tools.read(d, 65536, 1)[0], "the primary table is used");
    }
    long grown = Files.size(img);
    CheckReport fixed = repairKeepingReads(CheckMode.REPAIR_LEAKS);
    assertEquals(2, fixed.leaksFixed(), fixed.toString());
    assertEquals(grown - 65536, Files.size(img), "the unused grain is cut off");
    assertEquals(readInt(GT + 4), readInt(RGT + 4), "the redundant entry is back in step");
  }

  /** A hole between grains (an allocation whose entry a failure lost) is closed up. */
  @Test
  void spaceBetweenGrainsIsClosedUp() throws IOException {
    pokeEntry(0, 0); // grain 0's space, first after the tables, is no longer used
    long size = Files.size(img);
    assertEquals(1, check().leaks(), check().messages().toString());
    repairKeepingReads(CheckMode.REPAIR_LEAKS);
    assertEquals(size - 65536, Files.size(img));
    try (BlockDevice d = Tools.open(img, true)) {
      assertEquals(2, Tools.read(d, 65536, 1)[0], "grain 1 moved down and still reads");
    }
    assertEquals(128, readInt(GT + 4), "grain 1 now sits where grain 0 was");
  }

  private int readInt(long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      ch.read(b, offset);
      return b.getInt(0);
    }
  }

  @Test
  void aDescriptorLineThatIsNoExtentIsRefused() throws IOException {
    Path desc = dir.resolve("d.vmdk");
    Files.writeString(desc, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
        + "RW 2048 FLAT \"d-flat.vmdk\"\n");
    BlockException e = assertThrows(BlockException.class, () -> Tools.open(desc, true).close());
    assertTrue(e.getMessage().contains("start sector"), e.getMessage());
    Files.writeString(desc, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
        + "RW 2048 FLAT \"missing-flat.vmdk\" 0\n");
    e = assertThrows(BlockException.class, () -> Tools.open(desc, true).close());
    assertTrue(e.getMessage().contains("missing-flat.vmdk"), e.getMessage());
  }

  @Test
  void extentLinesOtherThanRwKeepTheirMeaning() throws IOException {
    Tools.ok("qemu-img", "create", "-f", "raw", dir.resolve("x-flat.vmdk").toString(), "1M");
    Tools.ok("qemu-io", "-f", "raw", "-c", "write -P 9 0 1M",
        dir.resolve("x-flat.vmdk").toString());
    Path desc = dir.resolve("x.vmdk");
    Files.writeString(desc, "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
        + "createType=\"monolithicFlat\"\nRDONLY 1024 FLAT \"x-flat.vmdk\" 0\n"
        + "RW 1024 ZERO\nNOACCESS 1024 FLAT \"x-flat.vmdk\" 1024\n");
    try (BlockDevice d = Tools.open(desc, false, Map.of(), w -> { })) {
      assertEquals(3 * 512 * 1024, d.size());
      assertEquals(9, Tools.read(d, 0, 1)[0]);
      assertEquals(0, Tools.read(d, 512 * 1024, 1)[0]);
      assertThrows(BlockException.class, () -> Tools.writeAll(d, 0, new byte[] {1}));
      assertThrows(BlockException.class, () -> Tools.writeAll(d, 512 * 1024, new byte[] {1}));
      assertThrows(DataUnavailableException.class, () -> Tools.read(d, 1024 * 1024, 1));
    }
  }
}
