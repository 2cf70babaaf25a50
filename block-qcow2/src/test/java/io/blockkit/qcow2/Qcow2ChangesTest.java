package io.blockkit.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What blockkit changes in an image besides its data: feature bits, bitmaps, amend, resize, and
 * the statistics check reports, each judged by qemu-img.
 */
class Qcow2ChangesTest {
  private static final long MB = 1 << 20;

  @TempDir
  Path dir;

  @BeforeAll
  static void qemu() {
    Tools.requireQemu();
  }

  private static long headerLong(Path img, long at) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
      f.seek(at);
      return f.readLong();
    }
  }

  private static void putHeaderLong(Path img, long at, long v) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.seek(at);
      f.writeLong(v);
    }
  }

  private static long jsonLong(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":\\s*(\\d+)").matcher(json);
    assertTrue(m.find(), field + " in " + json);
    return Long.parseLong(m.group(1));
  }

  /**
   * Writes whose host order differs from their guest order (fragments), across L2 tables (qemu
   * judges contiguity within one table), with a compressed cluster between data clusters.
   */
  static Stream<Arguments> layouts() {
    return Stream.of(
        Arguments.of("4K clusters, four L2 tables", "cluster_size=4k", new String[] {
            "write -c 7M 4k", "write -P 1 0 4k", "write -P 2 1M 4k", "write -P 3 4k 4k",
            "write -P 4 2M 64k", "write -z 3M 64k", "write -P 5 8k 4k"}),
        Arguments.of("compressed between data", "cluster_size=64k", new String[] {
            "write -P 1 0 64k", "write -c 64k 64k", "write -P 2 128k 64k",
            "write -P 3 192k 64k"}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void checkStatisticsAgreeWithQemu(String label, String options, String[] writes)
      throws IOException {
    Path img = dir.resolve("stats.qcow2");
    Tools.qemuImg("create", "-q", "-f", "qcow2", "-o", options, img.toString(),
        Long.toString(8 * MB)).expect(0);
    Tools.qemuIo(img, writes).expect(0);
    String json = Tools.qemuImg("check", "--output=json", img.toString()).expect(0).out();
    try (BlockDevice d = Tools.open(img, true)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertEquals(jsonLong(json, "image-end-offset"), r.imageEndOffset(), label + json);
      assertEquals(jsonLong(json, "total-clusters"), r.totalClusters(), label + json);
      assertEquals(jsonLong(json, "allocated-clusters"), r.allocatedClusters(), label + json);
      assertEquals(jsonLong(json, "fragmented-clusters"), r.fragmentedClusters(), label + json);
    }
  }

  @Test
  void unknownCompatibleBitsAreKeptAndUnknownAutoclearBitsClearedOnTheFirstWrite()
      throws IOException {
    Path img = dir.resolve("bits.qcow2");
    Tools.create(img, Map.of("size", Long.toString(4 * MB)));
    long compatible = headerLong(img, 80) | 1L << 40;
    long autoclear = headerLong(img, 88) | 1L << 41;
    putHeaderLong(img, 80, compatible);
    putHeaderLong(img, 88, autoclear);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.read(d, 0, 512);
    }
    assertEquals(autoclear, headerLong(img, 88), "an open without a write changes nothing");
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.write(d, 1000, Tools.pattern(1, 5000));
    }
    assertEquals(compatible, headerLong(img, 80), "unknown compatible bits are kept");
    assertEquals(autoclear & ~(1L << 41), headerLong(img, 88), "unknown autoclear bit cleared");
    Tools.qemuImg("check", img.toString()).expect(0);
  }

  @Test
  void persistentBitmapsAreFlaggedInUseNotBroken() throws IOException {
    Path img = dir.resolve("bitmap.qcow2");
    Tools.qemuImg("create", "-q", "-f", "qcow2", img.toString(), Long.toString(4 * MB))
        .expect(0);
    Tools.qemuIo(img, "write -P 7 0 128k").expect(0);
    Tools.qemuImg("bitmap", "--add", img.toString(), "b0").expect(0);
    Tools.qemuIo(img, "write -P 8 1M 64k").expect(0); // qemu records this in b0
    assertTrue(!Tools.qemuImg("info", img.toString()).expect(0).out().contains("in-use"));
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.write(d, 2 * MB, Tools.pattern(2, 70_000));
    }
    Tools.Result check = Tools.qemuImg("check", img.toString());
    assertEquals(0, check.exit(), check.out());
    String info = Tools.qemuImg("info", "--output=json", img.toString()).expect(0).out();
    assertTrue(info.contains("\"b0\"") && info.contains("in-use"), info);
    // qemu treats an in-use bitmap as inconsistent and lets it be removed cleanly.
    Tools.qemuImg("bitmap", "--remove", img.toString(), "b0").expect(0);
    Tools.qemuImg("check", img.toString()).expect(0);
  }

  @Test
  void amendChangesCompatBothWaysAndLazyRefcounts() throws IOException {
    Path img = dir.resolve("amend.qcow2");
    Tools.create(img, Map.of("size", Long.toString(4 * MB)));
    byte[] data = Tools.pattern(3, 200_000);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.write(d, 10_000, data);
      d.writeZeroes(MB, 128 * 1024); // zero clusters v2 cannot hold
    }
    Qcow2Driver driver = new Qcow2Driver();
    try (BlockDevice d = Tools.open(img, false)) {
      d.amend(Options.of(Map.of("compat", "0.10"), driver.amendOptions()));
    }
    String info = Tools.qemuImg("info", "--output=json", img.toString()).expect(0).out();
    assertTrue(info.contains("\"compat\": \"0.10\""), info);
    Tools.qemuImg("check", img.toString()).expect(0);
    try (BlockDevice d = Tools.open(img, false)) {
      assertArrayEquals(data, Tools.read(d, 10_000, data.length));
      assertArrayEquals(new byte[128 * 1024], Tools.read(d, MB, 128 * 1024));
      assertThrows(BlockException.class, () -> d.amend(
          Options.of(Map.of("lazy_refcounts", "on"), driver.amendOptions())));
      d.amend(Options.of(Map.of("compat", "1.1", "lazy_refcounts", "on"),
          driver.amendOptions()));
    }
    info = Tools.qemuImg("info", "--output=json", img.toString()).expect(0).out();
    assertTrue(info.contains("\"compat\": \"1.1\"") && info.contains("\"lazy-refcounts\": true"),
        info);
    Tools.qemuImg("check", img.toString()).expect(0);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.write(d, 3 * MB, Tools.pattern(4, 4096));
      d.amend(Options.of(Map.of("lazy_refcounts", "off"), driver.amendOptions()));
    }
    info = Tools.qemuImg("info", "--output=json", img.toString()).expect(0).out();
    assertTrue(info.contains("\"lazy-refcounts\": false"), info);
    Tools.qemuImg("check", img.toString()).expect(0);
  }

  @Test
  void resizeGrowsAndShrinksDroppingTheTail() throws IOException {
    Path img = dir.resolve("resize.qcow2");
    Tools.create(img, Map.of("size", Long.toString(4 * MB), "cluster_size", "4096"));
    byte[] head = Tools.pattern(5, 100_000);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.write(d, 0, head);
      Tools.write(d, 3 * MB, Tools.pattern(6, 8192));
      d.truncate(64 * MB); // the L1 table grows from 2 to 32 entries and moves
      Tools.write(d, 60 * MB, Tools.pattern(7, 4096));
    }
    Tools.qemuImg("check", img.toString()).expect(0);
    assertEquals(64 * MB, jsonLong(Tools.qemuImg("info", "--output=json", img.toString())
        .expect(0).out(), "virtual-size"));
    try (BlockDevice d = Tools.open(img, false)) {
      d.truncate(MB);
      d.truncate(4 * MB);
      assertArrayEquals(head, Tools.read(d, 0, head.length));
      assertArrayEquals(new byte[8192], Tools.read(d, 3 * MB, 8192), "the dropped tail");
    }
    Tools.Result check = Tools.qemuImg("check", img.toString()).expect(0);
    assertTrue(!check.out().contains("leak"), check.out());
  }
}
