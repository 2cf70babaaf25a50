package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * qemu-img 7.2 as the reference: every variant qemu-img makes and qemu-io writes reads back
 * identically (and qemu-img map agrees with block status); every variant blockkit writes reads
 * back identically in qemu-img ({@code qemu-img compare} against the same bytes as raw, the same
 * virtual size); {@code create} lays images out byte for byte as qemu-img does. Where qemu-img is
 * wrong (differencing images, fixed images probed as raw) the tests show it. Each run prints its
 * seed; {@code -Dblockkit.seed=N} repeats it.
 */
class VpcQemuInteropTest {
  private static final int MIB = 1 << 20;
  private static final Pattern VIRTUAL_SIZE = Pattern.compile("\"virtual-size\":\\s*(\\d+)");
  private static final Pattern MAP_ENTRY = Pattern.compile("\\{([^}]*)\\}");

  @TempDir
  Path dir;
  private long seed;
  private Random rnd;

  @BeforeEach
  void setUp() {
    Vhds.requireQemu();
    seed = Long.getLong("blockkit.seed", System.nanoTime());
    rnd = new Random(seed);
    System.out.println("seed " + seed);
  }

  private String note() {
    return " (seed " + seed + ", rerun with -Dblockkit.seed=" + seed + ")";
  }

  /** Sizes around the 2 MiB block edges and a few random ones. */
  private long randomSize() {
    long[] edges = {512, 2 * MIB - 512, 2 * MIB, 2 * MIB + 512, 5 * MIB + 3584};
    return rnd.nextInt(3) == 0 ? 512 + rnd.nextInt(5 * MIB) / 512 * 512
        : edges[rnd.nextInt(edges.length)];
  }

  private long randomOffset(long size) {
    return switch (rnd.nextInt(3)) {
      case 0 -> Math.max(0, Math.min(size - 1, (long) rnd.nextInt((int) (size / (2 * MIB)) + 1)
          * 2 * MIB + rnd.nextInt(5) - 2));
      case 1 -> size - 1 - rnd.nextInt((int) Math.min(size, 600));
      default -> (long) (rnd.nextDouble() * size);
    };
  }

  private int randomLength(long offset, long size) {
    int want = rnd.nextInt(2) == 0 ? 1 + rnd.nextInt(4096) : 1 + rnd.nextInt(3 * MIB);
    return (int) Math.min(want, size - offset);
  }

  static long virtualSize(Path image) throws IOException {
    Matcher m = VIRTUAL_SIZE.matcher(Vhds.qemuImg("info", "-f", "vpc", "--output=json",
        image.toString()).expect(0).stdout());
    assertTrue(m.find(), "qemu-img info printed no virtual-size");
    return Long.parseLong(m.group(1));
  }

  // ---------------------------------------------------------------- qemu writes, blockkit reads

  static Stream<Arguments> qemuVariants() {
    return Stream.of(Arguments.of("dynamic", ""), Arguments.of("fixed", "subformat=fixed"),
        Arguments.of("dynamic, force_size", "force_size=on"),
        Arguments.of("fixed, force_size", "subformat=fixed,force_size=on"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("qemuVariants")
  void imagesQemuWritesReadBackIdentically(String label, String options) throws IOException {
    for (int round = 0; round < 3; round++) {
      long requested = randomSize();
      Path image = dir.resolve("q" + round + ".vhd");
      List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "vpc"));
      if (!options.isEmpty()) {
        create.addAll(List.of("-o", options));
      }
      create.addAll(List.of(image.toString(), Long.toString(requested)));
      Vhds.qemuImg(create.toArray(String[]::new)).expect(0);
      long size = virtualSize(image);
      byte[] model = new byte[(int) size];
      List<String> commands = new ArrayList<>();
      for (int i = 0, n = 1 + rnd.nextInt(8); i < n; i++) {
        long off = randomOffset(size);
        int len = randomLength(off, size);
        if (rnd.nextInt(5) == 0) {
          commands.add("write -z " + off + " " + len);
          Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
        } else {
          int p = 1 + rnd.nextInt(255);
          commands.add("write -P 0x" + Integer.toHexString(p) + " " + off + " " + len);
          Arrays.fill(model, (int) off, (int) off + len, (byte) p);
        }
      }
      Vhds.qemuIo(image, commands).expect(0);
      String what = label + " of " + requested + " bytes after " + commands + note();
      String map = Vhds.qemuImg("map", "-f", "vpc", "--output=json", image.toString()).expect(0)
          .stdout();
      // Probed: a fixed image by its footer, where qemu-img itself would say raw.
      try (BlockDevice d = Vhds.open(image.toString(), true)) {
        assertEquals("vpc", d.driver().name(), what);
        assertEquals(size, d.size(), "virtual size of " + what);
        int at = Arrays.mismatch(model, Vhds.readAll(d));
        if (at >= 0) {
          fail("byte " + at + " differs in " + what);
        }
        assertTrue(d.check(CheckMode.REPORT).isClean(), what);
        assertMapAgrees(map, d, what);
      }
    }
  }

  // ---------------------------------------------------------------- blockkit writes, qemu reads

  static Stream<Arguments> blockkitVariants() {
    return Stream.of(Arguments.of("dynamic", Map.of()),
        Arguments.of("dynamic, force_size", Map.of("force_size", "on")),
        Arguments.of("dynamic, 512K blocks", Map.of("block_size", "512K")),
        Arguments.of("dynamic, 4K blocks", Map.of("block_size", "4K", "force_size", "on")),
        Arguments.of("fixed", Map.of("subformat", "fixed")),
        Arguments.of("azure", Map.of("azure", "on")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("blockkitVariants")
  void imagesBlockkitWritesReadIdenticallyInQemu(String label, Map<String, String> options)
      throws IOException {
    for (int round = 0; round < 2; round++) {
      long requested = randomSize();
      Path image = dir.resolve("b" + round + ".vhd");
      Map<String, String> o = new LinkedHashMap<>(options);
      o.put("size", Long.toString(requested));
      Vhds.create(image.toString(), o);
      byte[] model;
      List<String> log = new ArrayList<>();
      try (BlockDevice d = Vhds.open(image.toString(), "vpc", false)) {
        model = new byte[(int) d.size()];
        for (int i = 0, n = 1 + rnd.nextInt(10); i < n; i++) {
          long off = randomOffset(model.length);
          int len = randomLength(off, model.length);
          switch (rnd.nextInt(6)) {
            case 0 -> {
              d.writeZeroes(off, len);
              Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
              log.add("zero " + off + "+" + len);
            }
            case 1 -> {
              d.discard(off, len);
              Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
              log.add("discard " + off + "+" + len);
            }
            default -> {
              byte[] data = Vhds.pattern(rnd.nextLong(), len);
              Vhds.write(d, off, data);
              System.arraycopy(data, 0, model, (int) off, len);
              log.add("write " + off + "+" + len);
            }
          }
        }
        d.flush();
      }
      String what = label + " of " + requested + " bytes after " + log + note();
      assertEquals(model.length, virtualSize(image), "qemu's virtual size of " + what);
      Path reference = Files.write(dir.resolve("ref" + round + ".raw"), model);
      Vhds.Result cmp = Vhds.qemuImg("compare", "-f", "vpc", "-F", "raw", image.toString(),
          reference.toString());
      assertEquals(0, cmp.exitCode(), "qemu-img compare of " + what + "\n" + cmp.stdout()
          + cmp.stderr());
      // qemu-img 7.2 has no check for vpc: blockkit's own is the only one.
      Vhds.Result check = Vhds.qemuImg("check", "-f", "vpc", image.toString());
      assertEquals(63, check.exitCode(), check.stdout() + check.stderr());
      String map = Vhds.qemuImg("map", "-f", "vpc", "--output=json", image.toString()).expect(0)
          .stdout();
      try (BlockDevice d = Vhds.open(image.toString(), "vpc", true)) {
        assertTrue(d.check(CheckMode.REPORT).isClean(), what);
        assertMapAgrees(map, d, what);
      }
    }
  }

  /**
   * qemu-img map and block status agree on data and zero over every byte, swept together. One
   * difference is allowed: qemu ignores sector bitmaps, so sectors whose bits blockkit cleared
   * (zeroed or discarded in a dynamic image) are data to qemu and zeros to blockkit; the bytes
   * must then read zero.
   */
  private static void assertMapAgrees(String json, BlockDevice d, String what)
      throws IOException {
    List<long[]> theirs = new ArrayList<>();
    Matcher obj = MAP_ENTRY.matcher(json);
    while (obj.find()) {
      String b = obj.group(1);
      theirs.add(new long[] {field(b, "start"), field(b, "length"),
          b.contains("\"data\": true") ? 1 : 0, b.contains("\"zero\": true") ? 1 : 0});
    }
    long size = d.size();
    long pos = 0;
    int i = 0;
    Extent ours = null;
    while (pos < size) {
      while (i < theirs.size() && theirs.get(i)[0] + theirs.get(i)[1] <= pos) {
        i++;
      }
      assertTrue(i < theirs.size(), "qemu-img map stops at " + pos + " for " + what);
      long[] q = theirs.get(i);
      if (ours == null || ours.end() <= pos) {
        ours = d.blockStatus(pos, size - pos);
      }
      long runEnd = Math.min(q[0] + q[1], ours.end());
      boolean same = (q[2] == 1) == ours.data() && (q[3] == 1) == ours.zero();
      if (!same) {
        byte[] bytes = Vhds.read(d, pos, (int) (runEnd - pos));
        boolean zeros = Arrays.equals(bytes, new byte[bytes.length]);
        boolean fixedHole = d.info().clusterSize() == 0 && q[3] == 1;
        if (!zeros || !(ours.zero() || fixedHole)) {
          fail("at " + pos + " qemu-img map says data=" + (q[2] == 1) + " zero=" + (q[3] == 1)
              + " but block status says " + ours + " for " + what + "\nqemu: " + json);
        }
      }
      pos = runEnd;
    }
  }

  private static long field(String body, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*(\\d+)").matcher(body);
    assertTrue(m.find(), key + " in " + body);
    return Long.parseLong(m.group(1));
  }

  // ---------------------------------------------------------------- create

  /**
   * blockkit's create writes what qemu-img's writes, byte for byte, but for the fields that
   * differ by nature: the time stamp, the unique id and the checksum over them (both footers).
   */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = ';', value = {"8M;", "1G;", "0;", "1000;", "200G;",
      "8M;force_size=on", "1G;force_size=on", "8M;subformat=fixed",
      "8M;subformat=fixed,force_size=on", "100M;subformat=fixed"})
  void createLaysImagesOutAsQemuImgDoes(String size, String options) throws IOException {
    Path theirs = dir.resolve("qemu.vhd");
    Path ours = dir.resolve("blockkit.vhd");
    List<String> args = new ArrayList<>(List.of("create", "-q", "-f", "vpc"));
    Map<String, String> o = new LinkedHashMap<>();
    o.put("size", size);
    if (options != null) {
      args.addAll(List.of("-o", options));
      for (String kv : options.split(",")) {
        o.put(kv.split("=")[0], kv.split("=")[1]);
      }
    }
    args.addAll(List.of(theirs.toString(), size));
    Vhds.qemuImg(args.toArray(String[]::new)).expect(0);
    Vhds.create(ours.toString(), o);
    long length = Files.size(theirs);
    assertEquals(length, Files.size(ours), "file length");
    // Fixed images: compare the footer (the data area is sparse zeros in both).
    long from = o.getOrDefault("subformat", "").equals("fixed") ? length - 512 : 0;
    byte[] a = readRange(theirs, from, length - from);
    byte[] b = readRange(ours, from, length - from);
    for (long footer : from == 0 ? new long[] {0, length - 512} : new long[] {0}) {
      for (int[] field : new int[][] {{24, 28}, {64, 68}, {68, 84}}) {
        for (int k = field[0]; k < field[1]; k++) {
          a[(int) footer + k] = 0;
          b[(int) footer + k] = 0;
        }
      }
    }
    assertArrayEquals(a, b, "layout of " + size + " " + options);
  }

  private static byte[] readRange(Path p, long from, long n) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(p)) {
      ByteBuffer b = ByteBuffer.allocate((int) n);
      while (b.hasRemaining() && ch.read(b, from + b.position()) >= 0) {
        // reads until full
      }
      return b.array();
    }
  }

  // ---------------------------------------------------------------- where qemu-img is wrong

  /**
   * A differencing image over a VHD parent reads the parent wherever the child has no sector;
   * qemu-img opens the same image as a dynamic one and reads zeros there (silently wrong data).
   */
  @Test
  void differencingImagesReadTheirParentWhereQemuReadsZeros() throws IOException {
    Path parent = dir.resolve("parent.vhd");
    Vhds.qemuImg("create", "-q", "-f", "vpc", parent.toString(), "4M").expect(0);
    Vhds.qemuIo(parent, List.of("write -P 0xaa 0 4M")).expect(0);
    Path child = dir.resolve("child.vhd");
    Vhds.create(child.toString(), Map.of("backing_file", "parent.vhd"));
    byte[] data = Vhds.pattern(7, 1000);
    try (BlockDevice d = Vhds.open(child.toString(), false)) {
      Vhds.write(d, MIB + 100, data);
    }
    try (BlockDevice d = Vhds.open(child.toString(), true)) {
      byte[] all = Vhds.readAll(d);
      assertEquals((byte) 0xaa, all[0], "the parent's byte");
      assertArrayEquals(data, Arrays.copyOfRange(all, MIB + 100, MIB + 1100));
      assertEquals((byte) 0xaa, all[MIB + 99], "the rest of the sector, from the parent");
    }
    // qemu: the parent's bytes read as zeros, in the allocated block and in the other one.
    Vhds.qemuIo(child, List.of("read -P 0 0 512", "read -P 0 " + 3 * MIB + " 512")).expect(0);
  }

  /** qemu-img calls a fixed VHD raw (and counts its footer as disk); blockkit reads the footer. */
  @Test
  void fixedImagesAreVhdsWhereQemuProbesRaw() throws IOException {
    Path image = dir.resolve("f.vhd");
    Vhds.qemuImg("create", "-q", "-f", "vpc", "-o", "subformat=fixed", image.toString(), "8M")
        .expect(0);
    assertTrue(Vhds.qemuImg("info", image.toString()).expect(0).stdout()
        .contains("file format: raw"));
    try (BlockDevice d = Vhds.open(image.toString(), true)) {
      assertEquals("vpc", d.driver().name());
      assertEquals(8390656, d.size(), "the data, not the footer");
      assertEquals("fixed", d.info().formatSpecific().get("type"));
    }
  }

  /** An Azure disk: fixed, a whole MiB kept exactly, and qemu-img sees the same size. */
  @Test
  void azureDisksAreWholeMebibytesInQemuToo() throws IOException {
    Path image = dir.resolve("azure.vhd");
    Vhds.create(image.toString(), Map.of("size", Long.toString(100L * MIB + 1), "azure", "on"));
    assertEquals(101L * MIB + 512, Files.size(image), "data, then the footer");
    assertEquals(101L * MIB, virtualSize(image));
    assertEquals(0, Vhds.qemuImg("compare", "-f", "vpc", "-F", "raw", image.toString(),
        Files.write(dir.resolve("zeros.raw"), new byte[0]).toString()).exitCode(),
        "reads as zeros");
  }
}
