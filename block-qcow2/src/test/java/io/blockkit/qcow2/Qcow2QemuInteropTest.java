package io.blockkit.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
 * Differential tests against qemu-img and qemu-io: images qemu makes and writes, in every variant
 * qemu-img creates, read back byte for byte as qemu reads them, with the same map (data, zero,
 * depth); images blockkit makes and writes pass {@code qemu-img check} and {@code qemu-img
 * compare}.
 */
class Qcow2QemuInteropTest {
  private static final int MB = 1 << 20;
  private static final long SIZE = 6 * MB + 512 * 3;

  @TempDir Path dir;

  @BeforeAll
  static void qemu() {
    Tools.requireQemu();
  }

  /** qemu-img create options for every variant the issue names. */
  static Stream<Arguments> variants() {
    return Stream.of(
        Arguments.of("v3 defaults", ""),
        Arguments.of("v2", "compat=0.10"),
        Arguments.of("512-byte clusters", "cluster_size=512"),
        Arguments.of("4K clusters, refcount_bits=1", "cluster_size=4096,refcount_bits=1"),
        Arguments.of("2M clusters, refcount_bits=64", "cluster_size=2M,refcount_bits=64"),
        Arguments.of("extended L2", "extended_l2=on,cluster_size=128k"),
        Arguments.of("zstd", "compression_type=zstd"),
        Arguments.of("lazy refcounts", "lazy_refcounts=on"),
        Arguments.of("preallocation=metadata", "preallocation=metadata"),
        Arguments.of("preallocation=full, 32K", "preallocation=full,cluster_size=32k"));
  }

  /**
   * What qemu-io writes: data, zeros, a discard, partial clusters, and (where the image is not
   * preallocated) compressed clusters, which must be whole clusters.
   */
  private static String[] qemuWrites(String options) {
    Matcher m = Pattern.compile("cluster_size=(\\d+)([kM]?)").matcher(options);
    long cs = 65536;
    if (m.find()) {
      cs = Long.parseLong(m.group(1)) * (m.group(2).equals("k") ? 1024
          : m.group(2).equals("M") ? MB : 1);
    }
    List<String> w = new ArrayList<>();
    if (!options.contains("preallocation")) {
      // First: qemu compresses only clusters nothing was written to yet.
      w.add("write -c " + 2 * MB + " " + cs);
      w.add("write -c -P 0x5c " + 4 * MB + " " + cs);
    }
    w.addAll(List.of("write -P 0xab 0 128k", "write -P 0x11 300k 5000", "write -z 1M 64k",
        "write -P 0x22 2400k 200k", "discard 2496k 64k", "write -z -u 3M 256k",
        "write -P 0x33 6M 1536"));
    return w.toArray(String[]::new);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void qemuMadeImagesReadAsQemuReadsThem(String label, String options) throws IOException {
    Path img = dir.resolve("q.qcow2");
    qemuCreate(img, options);
    Tools.qemuIo(img, qemuWrites(options)).expect(0);
    assertReadsLikeQemu(img, Map.of(), label);
    assertMapLikeQemu(img, label, !options.contains("preallocation"));
    try (BlockDevice d = Tools.open(img, true)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertTrue(r.isClean(), label + ": " + r);
    }
  }

  private void qemuCreate(Path img, String options) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
    if (!options.isEmpty()) {
      cmd.add("-o");
      cmd.add(options);
    }
    cmd.add(img.toString());
    cmd.add(Long.toString(SIZE));
    Tools.qemuImg(cmd.toArray(String[]::new)).expect(0);
  }

  /** Every byte equals what qemu-img convert makes of the image. */
  private void assertReadsLikeQemu(Path img, Map<String, String> open, String label)
      throws IOException {
    Path raw = dir.resolve("expected.raw");
    Files.deleteIfExists(raw);
    List<String> cmd = new ArrayList<>(List.of("convert", "-O", "raw"));
    if (open.containsKey("snapshot.name")) {
      cmd.add("-l");
      cmd.add("snapshot.name=" + open.get("snapshot.name"));
    }
    cmd.add(img.toString());
    cmd.add(raw.toString());
    Tools.qemuImg(cmd.toArray(String[]::new)).expect(0);
    byte[] expected = Files.readAllBytes(raw);
    try (BlockDevice d = Tools.open(img.toString(), open, true)) {
      assertEquals(expected.length, d.size(), label + ": size");
      byte[] actual = Tools.read(d, 0, expected.length);
      assertArrayEquals(expected, actual, label + ": content");
    }
  }

  private static final Pattern MAP_ENTRY = Pattern.compile("\\{ *\"start\": (\\d+), \"length\": "
      + "(\\d+), \"depth\": (\\d+), \"present\": (true|false), \"zero\": (true|false), "
      + "\"data\": (true|false)");

  /** qemu-img map's data, zero, present and depth for every byte, against ours. */
  private void assertMapLikeQemu(Path img, String label, boolean compareZero)
      throws IOException {
    String out = Tools.qemuImg("map", "--output=json", img.toString()).expect(0).out();
    Matcher m = MAP_ENTRY.matcher(out);
    List<long[]> theirs = new ArrayList<>();
    while (m.find()) {
      theirs.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
          Long.parseLong(m.group(3)), bit(m.group(4)), bit(m.group(5)), bit(m.group(6))});
    }
    assertTrue(!theirs.isEmpty(), out);
    try (BlockDevice d = Tools.open(img, true)) {
      for (long[] t : theirs) {
        long pos = t[0];
        while (pos < t[0] + t[1]) {
          BackingChain.Status s = BackingChain.status(d, pos, t[0] + t[1] - pos);
          String at = label + ": map at " + pos + " (qemu's run " + t[0] + "+" + t[1] + ")";
          assertEquals(t[2], s.depth(), at + " depth");
          assertEquals(t[3] == 1, s.extent().allocated(), at + " present");
          assertEquals(t[5] == 1, s.extent().data(), at + " data");
          if (compareZero) {
            assertEquals(t[4] == 1, s.extent().zero(), at + " zero");
          }
          pos += s.extent().length();
        }
      }
    }
  }

  private static long bit(String b) {
    return b.equals("true") ? 1 : 0;
  }

  /** Writes through blockkit, then qemu-img check and compare against the same bytes raw. */
  static Stream<Arguments> ownVariants() {
    return Stream.of(
        Arguments.of("v3 defaults", Map.of()),
        Arguments.of("v2", Map.of("compat", "0.10")),
        Arguments.of("512-byte clusters, refcount_bits=1",
            Map.of("cluster_size", "512", "refcount_bits", "1")),
        Arguments.of("2M clusters, refcount_bits=64",
            Map.of("cluster_size", "2M", "refcount_bits", "64")),
        Arguments.of("extended L2", Map.of("extended_l2", "on", "cluster_size", "64K")),
        Arguments.of("zstd", Map.of("compression_type", "zstd")),
        Arguments.of("lazy refcounts", Map.of("lazy_refcounts", "on")),
        Arguments.of("preallocation=metadata", Map.of("preallocation", "metadata")),
        Arguments.of("preallocation=falloc", Map.of("preallocation", "falloc")),
        Arguments.of("preallocation=full", Map.of("preallocation", "full")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ownVariants")
  void ownImagesPassQemuCheckAndCompare(String label, Map<String, String> options)
      throws IOException {
    Path img = dir.resolve("b.qcow2");
    Map<String, String> o = new LinkedHashMap<>(options);
    o.put("size", Long.toString(SIZE));
    Tools.create(img, o);
    byte[] expected = new byte[(int) SIZE];
    try (BlockDevice d = Tools.open(img, false)) {
      writeWorkload(d, expected, false);
    }
    try (BlockDevice d = Tools.open(img.toString(), Map.of("compress", "on"), false)) {
      writeWorkload(d, expected, true);
    }
    Path raw = dir.resolve("b.raw");
    Files.write(raw, expected);
    Tools.Result check = Tools.qemuImg("check", img.toString());
    assertEquals(0, check.exit(), label + ": qemu-img check\n" + check.out());
    Tools.Result cmp = Tools.qemuImg("compare", "-f", "qcow2", "-F", "raw", img.toString(),
        raw.toString());
    assertEquals(0, cmp.exit(), label + ": qemu-img compare\n" + cmp.out());
    try (BlockDevice d = Tools.open(img, true)) {
      assertTrue(d.check(CheckMode.REPORT).isClean(), label);
    }
  }

  /** Data, zeros, discards, overwrites; with {@code compressed} whole clusters compress. */
  private static void writeWorkload(BlockDevice d, byte[] model, boolean compressed)
      throws IOException {
    long seed = compressed ? 100 : 1;
    int[][] writes = compressed
        ? new int[][] {{0, 2 * MB}, {5 * MB, MB}}
        : new int[][] {{4096, 300_000}, {MB - 100, 200}, {3 * MB, MB + 512}, {70_000, 10}};
    for (int[] w : writes) {
      byte[] data = compressed ? text(w[1], seed++) : Tools.pattern(seed++, w[1]);
      d.write(w[0], ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, w[0], w[1]);
    }
    long[][] zeros = compressed ? new long[][] {{MB, 4096}} : new long[][] {{3 * MB + 65536, 131072},
        {100_000, 50_000}};
    for (long[] z : zeros) {
      d.writeZeroes(z[0], z[1]);
      java.util.Arrays.fill(model, (int) z[0], (int) (z[0] + z[1]), (byte) 0);
    }
    if (!compressed) {
      d.discard(4 * MB - 65536, 65536); // whole clusters for 64K and smaller: reads zeros
      java.util.Arrays.fill(model, 4 * MB - 65536, 4 * MB, (byte) 0);
      byte[] again = Tools.pattern(seed, 1000);
      d.write(4 * MB - 65536 + 100, ByteBuffer.wrap(again));
      System.arraycopy(again, 0, model, 4 * MB - 65536 + 100, 1000);
    }
  }

  /** Compressible bytes. */
  private static byte[] text(int n, long seed) {
    byte[] b = new byte[n];
    String s = "blockkit compresses this cluster " + seed + " ";
    for (int i = 0; i < n; i++) {
      b[i] = (byte) s.charAt((i + i / 4096) % s.length());
    }
    return b;
  }

  @Test
  void internalSnapshotsListedAndReadableByName() throws IOException {
    Path img = dir.resolve("s.qcow2");
    qemuCreate(img, "");
    Tools.qemuIo(img, "write -P 0x61 0 192k").expect(0);
    Tools.qemuImg("snapshot", "-c", "first", img.toString()).expect(0);
    Tools.qemuIo(img, "write -P 0x62 64k 64k", "write -z 128k 64k").expect(0);
    Tools.qemuImg("snapshot", "-c", "second", img.toString()).expect(0);
    Tools.qemuIo(img, "write -P 0x63 0 4k").expect(0);
    try (BlockDevice d = Tools.open(img, true)) {
      List<String> names = d.snapshots().stream().map(s -> s.id() + ":" + s.name()).toList();
      assertEquals(List.of("1:first", "2:second"), names);
    }
    assertReadsLikeQemu(img, Map.of(), "active layer");
    assertReadsLikeQemu(img, Map.of("snapshot.name", "first"), "snapshot first");
    assertReadsLikeQemu(img, Map.of("snapshot.name", "second"), "snapshot second");
    // Writing the active layer copies shared clusters: the snapshots keep their data.
    try (BlockDevice d = Tools.open(img, false)) {
      d.write(100_000, ByteBuffer.wrap(Tools.pattern(5, 70_000)));
      d.writeZeroes(0, 65536);
      d.discard(128 * 1024, 65536);
    }
    assertEquals(0, Tools.qemuImg("check", img.toString()).exit());
    assertReadsLikeQemu(img, Map.of("snapshot.name", "first"), "snapshot first after writes");
    assertReadsLikeQemu(img, Map.of(), "active layer after writes");
  }

  @Test
  void backingChainsOfQcow2AndRawReadLikeQemu() throws IOException {
    Path base = dir.resolve("base.raw");
    Files.write(base, Tools.pattern(9, (int) SIZE));
    Path mid = dir.resolve("mid.qcow2");
    Tools.qemuImg("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", mid.toString())
        .expect(0);
    Tools.qemuIo(mid, "write -P 0x41 64k 64k", "write -z 1M 64k").expect(0);
    Path top = dir.resolve("top.qcow2");
    Tools.qemuImg("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2",
        "-o", "cluster_size=4k", top.toString()).expect(0);
    Tools.qemuIo(top, "write -P 0x42 70k 10k", "write -z 2M 4k").expect(0);
    assertReadsLikeQemu(top, Map.of(), "three-layer chain");
    assertMapLikeQemu(top, "three-layer chain", true);
    // Our copy-on-write over the chain, checked by qemu.
    try (BlockDevice d = Tools.open(top, false)) {
      d.write(5000, ByteBuffer.wrap(Tools.pattern(10, 3000)));
      d.write(1 << 20, ByteBuffer.wrap(Tools.pattern(11, 100)));
    }
    assertEquals(0, Tools.qemuImg("check", top.toString()).exit());
    assertReadsLikeQemu(top, Map.of(), "chain after copy-on-write");
  }

  /**
   * A write touching an allocated and an unallocated subcluster copies the cluster; the
   * subclusters it did not touch keep reading the backing (depth 1), as in qemu.
   */
  @Test
  void mixedSubclusterWritesKeepTheRestOfTheClusterOnTheBacking() throws IOException {
    Path base = dir.resolve("sub-base.raw");
    Files.write(base, Tools.pattern(20, (int) MB));
    Path top = dir.resolve("sub-top.qcow2");
    Tools.qemuImg("create", "-q", "-f", "qcow2", "-b", "sub-base.raw", "-F", "raw", "-o",
        "extended_l2=on,cluster_size=64k", top.toString()).expect(0);
    try (BlockDevice d = Tools.open(top, false)) {
      d.write(5 * 2048 + 10, ByteBuffer.wrap(Tools.pattern(21, 100))); // subcluster 5
      d.writeZeroes(8 * 2048, 2048); // subcluster 8 reads zeros
      d.write(5 * 2048 + 2000, ByteBuffer.wrap(Tools.pattern(22, 2100))); // 5 and 6: mixed
    }
    assertEquals(0, Tools.qemuImg("check", top.toString()).exit());
    assertReadsLikeQemu(top, Map.of(), "mixed subcluster write");
    // The same writes by qemu-io: both images map alike (where the data lies aside).
    Path theirs = dir.resolve("sub-theirs.qcow2");
    Tools.qemuImg("create", "-q", "-f", "qcow2", "-b", "sub-base.raw", "-F", "raw", "-o",
        "extended_l2=on,cluster_size=64k", theirs.toString()).expect(0);
    Tools.qemuIo(theirs, "write " + (5 * 2048 + 10) + " 100", "write -z " + 8 * 2048 + " 2048",
        "write " + (5 * 2048 + 2000) + " 2100").expect(0);
    assertEquals(layout(theirs), layout(top), "qemu-img map of qemu's image, then of ours");
  }

  private static String layout(Path img) throws IOException {
    return Tools.qemuImg("map", "--output=json", img.toString()).expect(0).out()
        .replaceAll(", \"offset\": \\d+", "");
  }

  @Test
  void externalDataFilesReadAndWrite() throws IOException {
    for (String raw : new String[] {"off", "on"}) {
      Path img = dir.resolve("df-" + raw + ".qcow2");
      Path data = dir.resolve("df-" + raw + ".data");
      // qemu-img resolves a relative data file name against its working directory, blockkit
      // against the image's folder: an absolute name means the same to both.
      Tools.qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=" + data
          + ",data_file_raw=" + raw, img.toString(), Long.toString(SIZE)).expect(0);
      Tools.qemuIo(img, "write -P 0x71 0 100k", "write -z 1M 64k").expect(0);
      assertReadsLikeQemu(img, Map.of(), "data_file_raw=" + raw);
      try (BlockDevice d = Tools.open(img, false)) {
        d.write(200_000, ByteBuffer.wrap(Tools.pattern(12, 70_000)));
        d.writeZeroes(0, 4096);
      }
      assertEquals(0, Tools.qemuImg("check", img.toString()).exit(), "data_file_raw=" + raw);
      assertReadsLikeQemu(img, Map.of(), "data_file_raw=" + raw + " after writes");
    }
    Path ours = dir.resolve("ours-df.qcow2");
    Tools.create(ours, Map.of("size", Long.toString(SIZE), "data_file",
        dir.resolve("ours-df.data").toString(),
        "data_file_raw", "on"));
    try (BlockDevice d = Tools.open(ours, false)) {
      d.write(12345, ByteBuffer.wrap(Tools.pattern(13, 100_000)));
    }
    assertEquals(0, Tools.qemuImg("check", ours.toString()).exit());
    assertReadsLikeQemu(ours, Map.of(), "our data file");
    byte[] rawBytes = Files.readAllBytes(dir.resolve("ours-df.data"));
    assertArrayEquals(Tools.pattern(13, 100_000),
        java.util.Arrays.copyOfRange(rawBytes, 12345, 12345 + 100_000), "data file is raw");
  }
}
