package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Create options: qemu-img's (size, subformat, force_size), blockkit's block_size, the Azure
 * option, and differencing images with backing_file/backing_fmt, each checked in the bytes.
 */
class VpcCreateTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  private Path create(String name, Map<String, String> options) throws IOException {
    Path p = dir.resolve(name);
    Vhds.create(p.toString(), options);
    return p;
  }

  private static String creator(byte[] footer) {
    return new String(footer, 28, 4, StandardCharsets.ISO_8859_1);
  }

  private static byte[] lastSector(Path p) throws IOException {
    byte[] all = Files.readAllBytes(p);
    return java.util.Arrays.copyOfRange(all, all.length - 512, all.length);
  }

  @Test
  void theOptionsAreQemuImgsPlusBlockkitsOwn() {
    List<String> names = new VpcDriver().createOptions().stream().map(OptionSpec::name).toList();
    assertEquals(List.of("size", "subformat", "force_size", "azure", "block_size",
        "backing_file", "backing_fmt"), names);
  }

  /**
   * Azure: a fixed disk whose virtual size is a whole MiB, kept exactly (no CHS rounding); the
   * creator fields are Hyper-V's, so every reader (qemu's rule included) sizes it by current_size.
   */
  @Test
  void anAzureDiskIsAFixedWholeMebibyteKeptExactly() throws IOException {
    Path p = create("azure.vhd", Map.of("size", Long.toString(30L * MIB + 7), "azure", "on"));
    assertEquals(31L * MIB + 512, Files.size(p));
    byte[] footer = lastSector(p);
    ByteBuffer f = ByteBuffer.wrap(footer);
    assertEquals("win ", creator(footer));
    assertEquals(0x000a0000, f.getInt(32), "creator version 10.0");
    assertEquals(2, f.getInt(60), "fixed");
    assertEquals(31L * MIB, f.getLong(48), "current size");
    int[] chs = HandVhd.chs(31L * MIB / 512);
    assertEquals(chs[0], f.getShort(56) & 0xffff, "the specification's cylinders");
    try (BlockDevice d = Vhds.open(p.toString(), true)) {
      assertEquals(31L * MIB, d.size());
      assertEquals("current_size", d.info().formatSpecific().get("size-from"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = ';', value = {
      "azure=on,subformat=dynamic; contradict",
      "azure=on,force_size=off; contradict",
      "azure=on,backing_file=x.vhd; differencing",
      "subformat=fixed,block_size=512K; fixed image has no blocks",
      "block_size=3000; power of two",
      "block_size=512M; power of two",
      "size=2041G; 2040 GiB",
      "size=1T,block_size=512; at most 16777216"})
  void contradictionsAndLimitsAreRefusedNamingTheOption(String options, String message) {
    Map<String, String> o = new java.util.LinkedHashMap<>(Map.of("size", "1M"));
    for (String kv : options.split(",")) {
      o.put(kv.split("=")[0], kv.split("=")[1]);
    }
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> create("bad.vhd", o));
    assertTrue(e.getMessage().contains(message), e.getMessage());
    assertFalse(Files.exists(dir.resolve("bad.vhd")), "a failed create leaves nothing");
  }

  @Test
  void sizeIsRequiredWithoutAParent() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> create("nosize.vhd", Map.of()));
    assertTrue(e.getMessage().contains("'size'"), e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"dynamic", "fixed"})
  void emptyDisksOpenAndCheckClean(String subformat) throws IOException {
    Path p = create("empty.vhd", Map.of("size", "0", "subformat", subformat));
    try (BlockDevice d = Vhds.open(p.toString(), true)) {
      assertEquals(0, d.size());
      assertTrue(d.check(CheckMode.REPORT).isClean());
    }
  }

  /**
   * A differencing image over a VHD parent takes its size, records its unique id, time stamp and
   * name, and writes a relative W2ru and an absolute W2ku locator as Hyper-V does.
   */
  @Test
  void aDifferencingImageRecordsItsParentAsHyperVDoes() throws IOException {
    Path parent = create("parent.vhd", Map.of("size", "3M", "force_size", "on"));
    Files.createDirectories(dir.resolve("kids"));
    Path child = create("kids/child.vhd", Map.of("backing_file", "../parent.vhd"));
    byte[] img = Files.readAllBytes(child);
    byte[] pf = lastSector(parent);
    ByteBuffer c = ByteBuffer.wrap(img);
    assertEquals(4, c.getInt(60), "differencing");
    assertEquals(3L * MIB, c.getLong(48), "the parent's size");
    assertEquals(ByteBuffer.wrap(pf).getLong(68), c.getLong(512 + 40), "parent id");
    assertEquals(ByteBuffer.wrap(pf).getLong(76), c.getLong(512 + 48), "parent id");
    assertEquals(ByteBuffer.wrap(pf).getInt(24), c.getInt(512 + 56), "parent time stamp");
    String name = new String(img, 512 + 64, 24, StandardCharsets.UTF_16BE);
    assertEquals("parent.vhd", name.substring(0, name.indexOf('\0')));
    assertEquals("W2ru", locator(img, 0, 0));
    assertEquals("..\\parent.vhd", locator(img, 0, 1));
    assertEquals("W2ku", locator(img, 1, 0));
    assertEquals(parent.toAbsolutePath().toString(), locator(img, 1, 1));
    try (BlockDevice d = Vhds.open(child.toString(), true)) {
      assertEquals("../parent.vhd", d.info().backing().filename());
      assertEquals("vpc", d.backing().orElseThrow().driver().name());
    }
  }

  /** The code (part 0) or decoded UTF-16LE name (part 1) of locator entry {@code i}. */
  private static String locator(byte[] img, int i, int part) {
    ByteBuffer b = ByteBuffer.wrap(img);
    int at = 512 + 576 + 24 * i;
    if (part == 0) {
      return new String(img, at, 4, StandardCharsets.ISO_8859_1);
    }
    int len = b.getInt(at + 8);
    int off = (int) b.getLong(at + 16);
    return new String(img, off, len, StandardCharsets.UTF_16LE);
  }

  /**
   * A raw parent has no identity to record; its format goes into blockkit's own locator entry,
   * so the image opens it as raw without probing. A size given explicitly is kept exactly.
   */
  @Test
  void aRawParentsFormatIsRecordedAndAGivenSizeKeptExactly() throws IOException {
    Files.write(dir.resolve("base.raw"), Vhds.pattern(3, 5000));
    Path child = create("child.vhd", Map.of("backing_file", "base.raw", "backing_fmt", "raw",
        "size", "6000"));
    byte[] img = Files.readAllBytes(child);
    assertEquals(0L, ByteBuffer.wrap(img).getLong(512 + 40), "no parent id");
    assertEquals("bkfm", locator(img, 2, 0));
    try (BlockDevice d = Vhds.open(child.toString(), true)) {
      assertEquals(6144, d.size(), "6000 rounded up to whole sectors, no CHS growth");
      assertEquals("raw", d.info().backing().format());
      byte[] all = Vhds.readAll(d);
      assertEquals(java.util.Arrays.toString(Vhds.pattern(3, 5000)),
          java.util.Arrays.toString(java.util.Arrays.copyOf(all, 5000)));
      assertTrue(d.check(CheckMode.REPORT).isClean());
    }
  }
}
