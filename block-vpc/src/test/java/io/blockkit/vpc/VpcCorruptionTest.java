package io.blockkit.vpc;

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
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The corruption table: each row damages a dynamic image blockkit made (4 KiB blocks, 64 KiB,
 * blocks 0, 2, 5 and 7 written in that order) the way a crash, a bad tool or a bad disk would,
 * and says what must happen: the open fails naming the field, or check reports the finding as a
 * corruption or a leak, and repair leaves a clean image in which every sector that read before
 * reads the same. The layout: footer copy at 0, header at 512, BAT at 1536, blocks of 512 + 4096
 * bytes from 2048 (block 0 at sector 4, 2 at 13, 5 at 22, 7 at 31), footer at 20480.
 */
class VpcCorruptionTest {
  private static final int BLOCK = 4096;
  private static final int FOOTPRINT = BLOCK + 512;
  private static final int[] WRITTEN = {0, 2, 5, 7};
  private static final int HEADER = 512;
  private static final int BAT = 1536;
  private static final int LENGTH = 2048 + 4 * FOOTPRINT + 512;

  @TempDir
  static Path dir;

  /** The undamaged image. */
  static byte[] base() throws IOException {
    Path p = Files.createTempFile(dir, "base", ".vhd");
    Files.delete(p);
    Vhds.create(p.toString(), Map.of("size", "64K", "block_size", "4K", "force_size", "on"));
    try (BlockDevice d = Vhds.open(p.toString(), "vpc", false)) {
      for (int b : WRITTEN) {
        Vhds.write(d, (long) b * BLOCK, Vhds.pattern(b, BLOCK));
      }
    }
    byte[] image = Files.readAllBytes(p);
    assertEquals(LENGTH, image.length, "layout of the base image");
    return image;
  }

  private static UnaryOperator<byte[]> u32(int offset, int value) {
    return img -> {
      ByteBuffer.wrap(img).putInt(offset, value);
      return img;
    };
  }

  private static UnaryOperator<byte[]> flip(int offset) {
    return img -> {
      img[offset >= 0 ? offset : img.length + offset] ^= 0x40;
      return img;
    };
  }

  /** Changes a header field and keeps the header's checksum right. */
  private static UnaryOperator<byte[]> headerField(int field, int value) {
    return img -> {
      ByteBuffer.wrap(img).putInt(HEADER + field, value);
      HandVhd.checksum(img, HEADER, 1024, 36);
      return img;
    };
  }

  /** Changes a footer field in both copies and keeps their checksums right. */
  private static UnaryOperator<byte[]> footerField(int field, long value, boolean wide) {
    return img -> {
      for (int at : new int[] {0, img.length - 512}) {
        if (wide) {
          ByteBuffer.wrap(img).putLong(at + field, value);
        } else {
          ByteBuffer.wrap(img).putInt(at + field, (int) value);
        }
        HandVhd.checksum(img, at, 512, 64);
      }
      return img;
    };
  }

  private static UnaryOperator<byte[]> cut(int bytes) {
    return img -> Arrays.copyOf(img, img.length - bytes);
  }

  /** The file with {@code n} unreferenced bytes inserted before the footer. */
  private static UnaryOperator<byte[]> tail(int n) {
    return img -> {
      byte[] out = new byte[img.length + n];
      System.arraycopy(img, 0, out, 0, img.length - 512);
      System.arraycopy(img, img.length - 512, out, out.length - 512, 512);
      Arrays.fill(out, img.length - 512, out.length - 512, (byte) 0x5a);
      return out;
    };
  }

  private static UnaryOperator<byte[]> both(UnaryOperator<byte[]> a, UnaryOperator<byte[]> b) {
    return img -> b.apply(a.apply(img));
  }

  private static Arguments refused(String name, UnaryOperator<byte[]> damage,
      Class<? extends BlockException> type, String... message) {
    return Arguments.of(Named.of(name, damage), type, message);
  }

  /** Damage the open refuses, with the error's type and what its message must name. */
  static Stream<Arguments> refusedDamage() {
    return Stream.of(
        refused("both footers damaged", both(flip(100), flip(-412)),
            CorruptImageException.class, "no VHD footer can be trusted", "checksum"),
        refused("header cookie", headerField(0, 0x41414141), CorruptImageException.class,
            "header.cookie", "cxsparse"),
        // qemu's iotest 088: block sizes 0, 2 GiB and not a power of two
        refused("block size 0", headerField(32, 0), CorruptImageException.class,
            "header.block_size", "power of two"),
        refused("block size 2 GiB", headerField(32, 0x80000000), CorruptImageException.class,
            "header.block_size"),
        refused("block size 0x12345678", headerField(32, 0x12345678),
            CorruptImageException.class, "header.block_size", "305419896"),
        refused("BAT too small for the disk", headerField(28, 15), CorruptImageException.class,
            "header.max_table_entries", "at least 16"),
        // qemu's iotest 135: a huge max_table_entries in a small file
        refused("huge BAT", headerField(28, 0x7fffffff), UnsupportedFeatureException.class,
            "2147483647 entries"),
        refused("BAT past the end", both(headerField(16, 0), headerField(20, 1 << 20)),
            CorruptImageException.class, "header.table_offset", "1048576"),
        refused("header past the end", footerField(16, 1 << 20, true),
            CorruptImageException.class, "footer.data_offset"),
        refused("BAT over the header", headerField(20, 600), CorruptImageException.class,
            "overlaps the dynamic header"),
        refused("disk type 5", footerField(60, 5, false), CorruptImageException.class,
            "footer.disk_type", "type 5"),
        refused("larger than 2040 GiB", both(footerField(48, 3L << 40, true),
            footerField(56, 0xffff10ff, false)), UnsupportedFeatureException.class, "2040 GiB"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedDamage")
  void damageTheOpenRefuses(UnaryOperator<byte[]> damage, Class<? extends BlockException> type,
      String[] message) throws IOException {
    Path p = Files.write(dir.resolve("refused.vhd"), damage.apply(base()));
    for (boolean readOnly : new boolean[] {true, false}) {
      BlockException e = assertThrows(BlockException.class,
          () -> Vhds.open(p.toString(), "vpc", readOnly).close());
      assertInstanceOf(type, e, e.getMessage());
      for (String part : message) {
        assertTrue(e.getMessage().contains(part), part + " in: " + e.getMessage());
      }
      assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
    }
  }

  private static Arguments found(String name, UnaryOperator<byte[]> damage, int corruptions,
      int leaks, String message) {
    return Arguments.of(Named.of(name, damage), corruptions, leaks, message);
  }

  /** Damage check finds: counts, and a part of the first message. */
  static Stream<Arguments> foundDamage() {
    int sector0 = 4;
    int sector2 = 13;
    return Stream.of(
        found("end footer checksum", flip(-412), 1, 0, "footer at the end"),
        found("end footer missing", cut(512), 1, 0, "footer at the end"),
        found("footer copy at 0", flip(100), 1, 0, "footer copy at offset 0"),
        found("header checksum", flip(HEADER + 900), 1, 0, "header's checksum"),
        found("BAT entry past the end", u32(BAT + 4 * 5, 1 << 20), 1, 1,
            "block 5: its 512-byte bitmap"),
        found("last block cut short", cut(512 + 1000), 2, 0, "footer at the end"),
        found("two entries share a block", u32(BAT + 4 * 2, sector0), 1, 1,
            "overlap block 0"),
        // The misplaced block also overlaps block 0, which is copied too (both keep their bytes).
        found("entry in the BAT", u32(BAT + 4 * 2, BAT / 512), 2, 1, "overlap the BAT"),
        found("entry over the header and BAT", u32(BAT + 4 * 7, 2), 2, 1,
            "overlap the dynamic header"),
        found("block over the footer", both(tail(4096), u32(BAT + 4 * 9, 40)), 1, 0,
            "overlap the footer at the end"),
        found("space after the last block", tail(1000), 0, 1, "after the last block"),
        found("a block nothing refers to", u32(BAT + 4 * 2, -1), 0, 1, "belong to no block"),
        found("entry past the disk", both(headerField(28, 32),
            both(u32(BAT + 4 * 20, sector2), u32(BAT + 4 * 2, -1))), 0, 1,
            "past the 16 entries"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("foundDamage")
  void damageCheckFindsAndRepairKeepsEveryReadableSector(UnaryOperator<byte[]> damage,
      int corruptions, int leaks, String message) throws IOException {
    Path p = Files.write(dir.resolve("found.vhd"), damage.apply(base()));
    byte[][] before;
    try (BlockDevice d = Vhds.open(p.toString(), "vpc", true)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertEquals(corruptions, r.corruptions(), r.messages().toString());
      assertEquals(leaks, r.leaks(), r.messages().toString());
      assertTrue(r.messages().get(0).contains(message), message + " in " + r.messages());
      before = sectors(d);
    }
    CheckMode mode = corruptions > 0 ? CheckMode.REPAIR_ALL : CheckMode.REPAIR_LEAKS;
    try (BlockDevice d = Vhds.open(p.toString(), "vpc", false)) {
      CheckReport r = d.check(mode);
      assertTrue(r.isClean(), r.toString());
      assertEquals(corruptions, r.corruptionsFixed(), r.toString());
      assertEquals(leaks, r.leaksFixed(), r.toString());
      byte[][] after = sectors(d);
      for (int s = 0; s < before.length; s++) {
        assertTrue(after[s] != null, "sector " + s + " unreadable after repair");
        if (before[s] != null) {
          assertArrayEquals(before[s], after[s], "sector " + s + " changed in the repair");
        }
      }
      Vhds.write(d, 3 * BLOCK + 10, Vhds.pattern(99, BLOCK));
      assertTrue(d.check(CheckMode.REPORT).isClean(), "after a write");
    }
    try (BlockDevice d = Vhds.open(p.toString(), true)) {
      assertTrue(d.check(CheckMode.REPORT).isClean(), "reopened and probed");
    }
  }

  /** Every sector of the disk, or null where its read fails (the image is damaged there). */
  private static byte[][] sectors(BlockDevice d) throws IOException {
    byte[][] out = new byte[(int) (d.size() / 512)][];
    for (int s = 0; s < out.length; s++) {
      try {
        out[s] = Vhds.read(d, s * 512L, 512);
      } catch (DataUnavailableException e) {
        out[s] = null;
      }
    }
    return out;
  }

  @Test
  void readsOfDataPastTheEndFailNamingTheBlockAndRange() throws IOException {
    Path p = Files.write(dir.resolve("past.vhd"), u32(BAT + 4 * 5, 1 << 20).apply(base()));
    try (BlockDevice d = Vhds.open(p.toString(), "vpc", false)) {
      DataUnavailableException e = assertThrows(DataUnavailableException.class,
          () -> Vhds.read(d, 5 * BLOCK + 10, 100));
      assertTrue(e.getMessage().contains("block 5"), e.getMessage());
      assertEquals(5 * BLOCK + 10, e.offset());
      CorruptImageException w = assertThrows(CorruptImageException.class,
          () -> Vhds.write(d, 5 * BLOCK, new byte[10]));
      assertTrue(w.getMessage().contains("BAT entry 5"), w.getMessage());
    }
  }

  /**
   * In a differencing image a block lost past the end of the file is repaired as a block of
   * zeros: dropping its entry would show the parent's data, which the child had hidden.
   */
  @Test
  void aLostBlockOfADifferencingImageReadsZerosAfterRepairNotTheParent() throws IOException {
    Path parent = dir.resolve("parent.vhd");
    Files.deleteIfExists(parent);
    Vhds.create(parent.toString(), Map.of("size", "64K", "block_size", "4K",
        "force_size", "on"));
    try (BlockDevice d = Vhds.open(parent.toString(), false)) {
      Vhds.write(d, 0, Vhds.pattern(5, 64 << 10));
    }
    Path child = dir.resolve("child.vhd");
    Files.deleteIfExists(child);
    Vhds.create(child.toString(), Map.of("backing_file", "parent.vhd", "block_size", "4K"));
    try (BlockDevice d = Vhds.open(child.toString(), false)) {
      Vhds.write(d, BLOCK, Vhds.pattern(6, BLOCK));
    }
    byte[] img = Files.readAllBytes(child);
    ByteBuffer.wrap(img).putInt(BAT + 4, 1 << 20);
    Files.write(child, img);
    try (BlockDevice d = Vhds.open(child.toString(), false)) {
      CheckReport r = d.check(CheckMode.REPAIR_ALL);
      assertTrue(r.isClean(), r.toString());
      assertArrayEquals(new byte[BLOCK], Vhds.read(d, BLOCK, BLOCK));
    }
  }

  @Test
  void aFixedImageWithADamagedFooterIsRawUnlessNamedThenRefused() throws IOException {
    Path p = dir.resolve("fixed.vhd");
    Files.deleteIfExists(p);
    Vhds.create(p.toString(), Map.of("size", "64K", "subformat", "fixed", "force_size", "on"));
    Files.write(p, flip(-412).apply(Files.readAllBytes(p)));
    List<String> warnings = new ArrayList<>();
    try (BlockDevice d = Vhds.registry().open(p.toString(), Vhds.params(null, true, warnings))) {
      assertEquals("raw", d.driver().name());
    }
    CorruptImageException e = assertThrows(CorruptImageException.class,
        () -> Vhds.open(p.toString(), "vpc", true));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
  }
}
