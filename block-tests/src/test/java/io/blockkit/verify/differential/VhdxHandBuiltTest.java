package io.blockkit.verify.differential;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.ops.Convert;
import io.blockkit.registry.OpenParams;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import io.blockkit.verify.formats.VhdxBuilder;
import io.blockkit.verify.formats.VhdxBuilder.Update;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * VHDX images written field by field from the specification ({@link VhdxBuilder}), for what
 * qemu-img cannot be the oracle of: a dirty log read read-only (qemu-img refuses until {@code
 * check -r all}), the log's sequence rules (a torn newest entry, a tail outside its sequence, an
 * entry wrapping the log's end, another session's entries, a file shorter than the log says),
 * and differencing images (qemu-img cannot open them) found by their parent locator.
 */
class VhdxHandBuiltTest {
  private static final int MIB = VhdxBuilder.MIB;
  private static final long LOG = MIB;
  private static final long BAT = 2L * MIB;
  private static final long META = 3L * MIB;
  private static final long SIZE = 4L * MIB;
  private static final UUID NULL = new UUID(0, 0);

  @TempDir
  Path dir;

  /** A dynamic 4 MiB disk of 1 MiB blocks whose in-place BAT says block 0 and 2 are ZERO. */
  private static VhdxBuilder dynamic(int length, UUID log) {
    return new VhdxBuilder(length)
        .header(0, 1, UUID.randomUUID(), UUID.randomUUID(), NULL, LOG, MIB)
        .header(1, 2, UUID.randomUUID(), UUID.randomUUID(), log, LOG, MIB)
        .regions(BAT, MIB, META, MIB)
        .metadata(META, MIB, false, SIZE, UUID.randomUUID(), 512, null)
        .bat(BAT, 0, VhdxBuilder.ZERO, 0)
        .bat(BAT, 2, VhdxBuilder.ZERO, 0);
  }

  /** The BAT's first page with block {@code block} FULLY_PRESENT at {@code host}. */
  private static byte[] batPage(VhdxBuilder b, int block, long host) {
    byte[] page = b.page(BAT);
    ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN).putLong(8 * block,
        (host >>> 20 << 20) | VhdxBuilder.FULLY_PRESENT);
    return page;
  }

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.write(p, bytes);
    return p;
  }

  private static byte[] read(Path image, boolean readOnly) throws IOException {
    try (BlockDevice d = Images.open(image.toString(), "vhdx", readOnly)) {
      return Images.readAll(d);
    }
  }

  /** What the disk reads as: {@code data} at block {@code block}, zeros elsewhere. */
  private static byte[] expect(int block, byte[] data) {
    byte[] out = new byte[(int) SIZE];
    System.arraycopy(data, 0, out, block * MIB, data.length);
    return out;
  }

  // ---------------------------------------------------------------- dirty log

  /**
   * A log entry moves block 0 to FULLY_PRESENT and zeroes part of its data; the BAT in place
   * still says ZERO. Read-only, blockkit replays in memory and writes nothing; qemu-img refuses
   * to open it read-only, replays it with {@code check -r all} and then reads what blockkit read.
   */
  @Test
  void aDirtyLogReadsRightReadOnlyWhereQemuImgRefuses() throws IOException {
    UUID log = UUID.randomUUID();
    VhdxBuilder b = dynamic(5 * MIB, log);
    byte[] data = random(1, MIB);
    b.data(4L * MIB, data);
    b.logEntry(LOG, MIB, 0, 1, 0, log, 5L * MIB, 5L * MIB,
        List.of(Update.page(BAT, batPage(b, 0, 4L * MIB)), Update.zero(4L * MIB, 8192)));
    Path image = write("dirty.vhdx", b.bytes());
    byte[] expected = expect(0, data);
    Arrays.fill(expected, 0, 8192, (byte) 0);

    try (BlockDevice d = Images.open(image.toString(), "vhdx", true)) {
      assertArrayEquals(expected, Images.readAll(d), "read-only, the log replayed in memory");
      assertTrue(d.info().dirty(), "info reports the log not replayed in the file");
      assertTrue(d.check(CheckMode.REPORT).isClean(), "check of the replayed view");
    }
    // convert reads data from the file at the offsets block status names: the log's zeros over
    // the payload must reach the copy all the same
    Path converted = dir.resolve("blockkit.raw");
    try (BlockDevice d = Images.open(image.toString(), "vhdx", true)) {
      Convert.from(d).to(converted.toString()).format("raw").run(Images.registry());
    }
    assertArrayEquals(expected, Files.readAllBytes(converted), "convert of the replayed view");
    assertArrayEquals(b.bytes(), Files.readAllBytes(image), "a read-only open wrote to the file");

    Qemu.require("qemu-img");
    Qemu.Result info = Qemu.img("info", "-f", "vhdx", image.toString());
    assertNotEquals(0, info.exitCode(), "qemu-img opened a dirty log read-only");
    assertTrue(info.stderr().contains("log that needs to be replayed"), info.stderr());
    Path copy = write("copy.vhdx", b.bytes());
    Qemu.img("check", "-r", "all", "-f", "vhdx", copy.toString()).expect(0);
    Path raw = dir.resolve("qemu.raw");
    Qemu.img("convert", "-f", "vhdx", "-O", "raw", copy.toString(), raw.toString()).expect(0);
    assertArrayEquals(expected, Files.readAllBytes(raw), "qemu-img after its replay");

    // A read-write open replays into the file and leaves a header naming no log.
    assertArrayEquals(expected, read(image, false), "read-write, the log replayed in the file");
    try (BlockDevice d = Images.open(image.toString(), "vhdx", true)) {
      assertEquals(false, d.info().dirty());
      assertEquals(NULL.toString(), d.info().formatSpecific().get("log-guid"));
    }
    Qemu.img("check", "-f", "vhdx", image.toString()).expect(0);
  }

  /** A newest entry whose checksum fails is not replayed; the sequence before it is. */
  @Test
  void aTornNewestEntryLeavesThePreviousSequence() throws IOException {
    UUID log = UUID.randomUUID();
    VhdxBuilder b = dynamic(6 * MIB, log);
    byte[] first = random(2, MIB);
    byte[] second = random(3, MIB);
    b.data(4L * MIB, first).data(5L * MIB, second);
    int len = b.logEntry(LOG, MIB, 0, 8, 0, log, 6L * MIB, 6L * MIB,
        List.of(Update.page(BAT, batPage(b, 0, 4L * MIB))));
    byte[] both = batPage(b, 0, 4L * MIB);
    ByteBuffer.wrap(both).order(ByteOrder.LITTLE_ENDIAN).putLong(16,
        (5L << 20) | VhdxBuilder.FULLY_PRESENT);
    int len2 = b.logEntry(LOG, MIB, len, 9, len, log, 6L * MIB, 6L * MIB,
        List.of(Update.page(BAT, both)));
    byte[] bytes = b.bytes();
    bytes[(int) LOG + len + len2 - 100] ^= 0x40; // a torn write in its data sector
    assertArrayEquals(expect(0, first), read(write("torn.vhdx", bytes), true));
  }

  /**
   * Two entries form one sequence when the second's tail is the first: both are replayed in
   * order. The same second entry with its tail outside any sequence is no valid sequence, and
   * the log GUID of another session is no entry of this one.
   */
  @Test
  void aSequenceReplaysFromItsTailAndOnlyItsOwnEntries() throws IOException {
    UUID log = UUID.randomUUID();
    byte[] first = random(4, MIB);
    byte[] second = random(5, MIB);
    for (String variant : List.of("sequence", "tail outside", "other session")) {
      VhdxBuilder b = dynamic(6 * MIB, log);
      b.data(4L * MIB, first).data(5L * MIB, second);
      long tail0 = 0;
      UUID guid = variant.equals("other session") ? UUID.randomUUID() : log;
      int len = b.logEntry(LOG, MIB, tail0, 20, tail0, guid, 6L * MIB, 6L * MIB,
          List.of(Update.page(BAT, batPage(b, 0, 4L * MIB))));
      byte[] page = batPage(b, 2, 5L * MIB);
      long tail = variant.equals("tail outside") ? 8 * 4096 : tail0;
      b.logEntry(LOG, MIB, len, 21, tail, guid, 6L * MIB, 6L * MIB,
          List.of(Update.page(BAT, page)));
      byte[] expected = new byte[(int) SIZE];
      if (variant.equals("sequence")) {
        // the second page was taken before the first entry: it sets block 2 and not block 0
        System.arraycopy(second, 0, expected, 2 * MIB, MIB);
      }
      assertArrayEquals(expected, read(write(variant.replace(' ', '-') + ".vhdx", b.bytes()),
          true), variant);
    }
  }

  /** An entry may run past the log's end and continue at its start. */
  @Test
  void anEntryWrapsAroundTheLogsEnd() throws IOException {
    UUID log = UUID.randomUUID();
    VhdxBuilder b = dynamic(5 * MIB, log);
    byte[] data = random(6, MIB);
    b.data(4L * MIB, data);
    long position = MIB - 4096; // the descriptor sector at the end, the data sector at the start
    b.logEntry(LOG, MIB, position, 3, position, log, 5L * MIB, 5L * MIB,
        List.of(Update.page(BAT, batPage(b, 0, 4L * MIB))));
    assertArrayEquals(expect(0, data), read(write("wrapped.vhdx", b.bytes()), true));
  }

  /** A file shorter than the log's FlushedFileOffset was truncated: it is refused. */
  @Test
  void aFileShorterThanTheLogSaysIsRefused() throws IOException {
    UUID log = UUID.randomUUID();
    VhdxBuilder b = dynamic(5 * MIB, log);
    b.logEntry(LOG, MIB, 0, 1, 0, log, 8L * MIB, 8L * MIB,
        List.of(Update.page(BAT, batPage(b, 0, 4L * MIB))));
    Path image = write("short.vhdx", b.bytes());
    for (boolean readOnly : new boolean[] {true, false}) {
      CorruptImageException e = assertThrows(CorruptImageException.class,
          () -> Images.open(image.toString(), "vhdx", readOnly));
      assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }
  }

  // ---------------------------------------------------------------- differencing

  /** A VHDX parent of 4 MiB, every block FULLY_PRESENT with the given content. */
  private static VhdxBuilder parent(byte[] content, UUID dataWrite) {
    return parent(content, dataWrite, 512);
  }

  private static VhdxBuilder parent(byte[] content, UUID dataWrite, int sector) {
    VhdxBuilder p = new VhdxBuilder(8 * MIB)
        .header(0, 1, UUID.randomUUID(), dataWrite, NULL, LOG, MIB)
        .regions(BAT, MIB, META, MIB)
        .metadata(META, MIB, false, SIZE, UUID.randomUUID(), sector, null);
    for (int block = 0; block < 4; block++) {
      p.bat(BAT, block, VhdxBuilder.FULLY_PRESENT, (4L + block) * MIB);
      p.data((4L + block) * MIB, Arrays.copyOfRange(content, block * MIB, (block + 1) * MIB));
    }
    return p;
  }

  /** A differencing child: block 1 FULLY_PRESENT, block 3 PARTIALLY_PRESENT (sectors 2-5). */
  private static VhdxBuilder child(Map<String, String> locator, byte[] own1, byte[] own3) {
    return child(locator, own1, own3, 512);
  }

  /**
   * The same with logical sectors of {@code sector} bytes: the sector bitmap entry follows a
   * chunk of 2^23 * sector / block size payload entries (4096 or 32768 here), and a bit covers
   * one logical sector.
   */
  private static VhdxBuilder child(Map<String, String> locator, byte[] own1, byte[] own3,
      int sector) {
    long ratio = (1L << 23) * sector / MIB;
    long perBlock = MIB / sector;
    return new VhdxBuilder(7 * MIB)
        .header(1, 5, UUID.randomUUID(), UUID.randomUUID(), NULL, LOG, MIB)
        .regions(BAT, MIB, META, MIB)
        .metadata(META, MIB, false, SIZE, UUID.randomUUID(), sector, locator)
        .bat(BAT, 1, VhdxBuilder.FULLY_PRESENT, 4L * MIB).data(4L * MIB, own1)
        .bat(BAT, 3, VhdxBuilder.PARTIALLY_PRESENT, 5L * MIB).data(5L * MIB, own3)
        .bat(BAT, ratio, VhdxBuilder.SB_PRESENT, 6L * MIB).bitmap(6L * MIB, 3 * perBlock + 2,
            3 * perBlock + 6);
  }

  /**
   * The child sits in {@code a/b/}, its parent in {@code parents/}: the relative path (with
   * Windows separators) is tried first, a drive-letter path is skipped; the child reads as the
   * merge of its own blocks and sectors over the parent. qemu-img cannot open it at all.
   */
  @ParameterizedTest(name = "{0}-byte sectors")
  @ValueSource(ints = {512, 4096})
  void aDifferencingImageReadsAsTheMergeOfChildAndParent(int sector) throws IOException {
    byte[] parentContent = random(7, (int) SIZE);
    UUID parentData = UUID.randomUUID();
    write("parents/parent.vhdx", parent(parentContent, parentData, sector).bytes());
    byte[] own1 = random(8, MIB);
    byte[] own3 = random(9, MIB);
    Map<String, String> locator = new LinkedHashMap<>();
    locator.put("parent_linkage", "{" + parentData + "}");
    locator.put("absolute_win32_path", "\\\\?\\D:\\vms\\parent.vhdx");
    locator.put("relative_path", "..\\..\\parents\\parent.vhdx");
    Path image = write("a/b/child.vhdx", child(locator, own1, own3, sector).bytes());
    byte[] expected = parentContent.clone();
    System.arraycopy(own1, 0, expected, MIB, MIB);
    System.arraycopy(own3, 2 * sector, expected, 3 * MIB + 2 * sector, 4 * sector);
    try (BlockDevice d = Images.open(image.toString(), "vhdx", true)) {
      assertArrayEquals(expected, Images.readAll(d), "child over parent");
      assertEquals("../../parents/parent.vhdx", d.info().backing().filename());
      assertTrue(d.check(CheckMode.REPORT).isClean());
    }
    Qemu.require("qemu-img");
    Qemu.Result info = Qemu.img("info", "-f", "vhdx", image.toString());
    assertNotEquals(0, info.exitCode(), "qemu-img opened a differencing VHDX:\n" + info.stdout());
  }

  /**
   * A parent whose DataWriteGuid is not the child's parent_linkage was changed after the child
   * was made: the open fails naming both, unless the user names the backing explicitly.
   */
  @Test
  void aParentWithAnotherDataWriteGuidIsRefused() throws IOException {
    byte[] parentContent = random(10, (int) SIZE);
    write("parent.vhdx", parent(parentContent, UUID.randomUUID()).bytes());
    Map<String, String> locator = new LinkedHashMap<>();
    locator.put("parent_linkage", "{" + UUID.randomUUID() + "}");
    locator.put("relative_path", "parent.vhdx");
    Path image = write("child.vhdx", child(locator, random(11, MIB), random(12, MIB)).bytes());
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> Images.open(image.toString(), "vhdx", true));
    assertTrue(e.getMessage().contains("parent_linkage"), e.getMessage());
    Map<String, String> opts = new LinkedHashMap<>();
    opts.put("driver", "vhdx");
    opts.put("file.filename", image.toString());
    opts.put("backing.file.filename", dir.resolve("parent.vhdx").toString());
    List<String> warnings = new ArrayList<>();
    try (BlockDevice d = Images.registry().open(opts, OpenParams.readOnlyDefaults()
        .withWarnings(warnings::add))) {
      assertEquals(parentContent[0], Images.read(d, 0, 1)[0], "read through the named parent");
    }
  }

  /** Without a relative path, and only Windows volume or drive paths, no parent can be found. */
  @Test
  void onlyWindowsPathsNameNoParentHere() throws IOException {
    Map<String, String> locator = new LinkedHashMap<>();
    locator.put("parent_linkage", "{" + UUID.randomUUID() + "}");
    locator.put("volume_path", "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\p.vhdx");
    locator.put("absolute_win32_path", "\\\\?\\C:\\p.vhdx");
    Path image = write("orphan.vhdx", child(locator, random(13, MIB), random(14, MIB)).bytes());
    CorruptImageException e = assertThrows(CorruptImageException.class,
        () -> Images.open(image.toString(), "vhdx", true));
    assertTrue(e.getMessage().contains("relative_path"), e.getMessage());
  }
}
