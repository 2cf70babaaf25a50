package io.blockkit.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.error.InvalidOptionException;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Differential tests against qemu-img and qemu-io 7.2, in both directions: every VHDX variant
 * qemu-img makes and qemu-io writes reads back identically here; every variant blockkit makes and
 * writes passes {@code qemu-img check} and reads back identically in qemu-img (and keeps doing so
 * after qemu-io writes into it). qemu-img's map calls every byte of a VHDX data (QEMU 7.2 has no
 * block status for it), so contents are compared, never maps; {@link #blockStatusTellsHolesAndZeros}
 * shows what blockkit's block status adds.
 */
class VhdxQemuInteropTest {
  private static final int MIB = TestImages.MIB;

  @TempDir
  Path dir;

  @BeforeEach
  void qemu() {
    TestImages.requireQemu();
  }

  private static TestImages.Result ok(String... cmd) throws IOException {
    TestImages.Result r = TestImages.run(cmd);
    assertEquals(0, r.exit(), String.join(" ", cmd) + ":\n" + r.output());
    return r;
  }

  /** What qemu-img reads: the image converted to raw. */
  private byte[] qemuReads(Path image) throws IOException {
    Path raw = dir.resolve(image.getFileName() + ".raw");
    ok("qemu-img", "convert", "-f", "vhdx", "-O", "raw", image.toString(), raw.toString());
    byte[] out = Files.readAllBytes(raw);
    Files.delete(raw);
    return out;
  }

  private static byte[] blockkitReads(Path image) throws IOException {
    try (BlockDevice d = TestImages.open(image, true)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertTrue(r.isClean(), image + ": " + r);
      return TestImages.readAll(d);
    }
  }

  private static void assertSame(byte[] expected, byte[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    int at = Arrays.mismatch(expected, actual);
    assertEquals(-1, at, () -> what + ": first difference at byte " + at);
  }

  /** qemu-io commands writing patterns, zeros and discards over {@code size} bytes. */
  private static List<String> qemuWrites(long size, long seed) {
    Random r = new Random(seed);
    List<String> cmds = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      long len = 512L * (1 + r.nextInt(i % 3 == 0 ? 4096 : 64));
      long off = 512L * r.nextInt((int) ((size - len) / 512));
      switch (i % 4) {
        case 0, 1 -> cmds.add("write -P 0x" + Integer.toHexString(1 + r.nextInt(254)) + " "
            + off + " " + len);
        case 2 -> cmds.add("write -z " + off + " " + len);
        default -> cmds.add("discard " + off + " " + len);
      }
    }
    cmds.add("write -P 0x77 " + (size - 4096) + " 4096");
    return cmds;
  }

  private static String[] io(Path image, List<String> commands) {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "vhdx"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(image.toString());
    return cmd.toArray(String[]::new);
  }

  @Test
  void everyVariantQemuImgMakesReadsBackIdentically() throws IOException {
    String[][] variants = {
        {"64M"},
        {"40M", "-o", "subformat=fixed,block_size=1M"},
        {"20M", "-o", "block_size=1M"},
        {"33M", "-o", "block_size=32M,block_state_zero=off"},
        {"16M", "-o", "log_size=2M,block_size=2M"},
        {"10M"},
    };
    int n = 0;
    for (String[] v : variants) {
      Path image = dir.resolve("qemu" + n++ + ".vhdx");
      List<String> create = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", "vhdx"));
      create.addAll(Arrays.asList(v).subList(1, v.length));
      create.add(image.toString());
      create.add(v[0]);
      ok(create.toArray(String[]::new));
      long size = Files.size(image) > 0 ? virtualSize(v[0]) : 0;
      ok(io(image, qemuWrites(size, n)));
      assertSame(qemuReads(image), blockkitReads(image), String.join(" ", v));
    }
  }

  private static long virtualSize(String s) {
    return Long.parseLong(s.substring(0, s.length() - 1)) << 20;
  }

  /**
   * Images blockkit makes and writes (writes, zeros, discards of parts and of whole blocks, whose
   * space is reused) pass qemu-img check and compare equal to a byte model; qemu-io then writes
   * into them and blockkit reads what qemu-img reads.
   */
  @Test
  void everyVariantBlockkitMakesPassesQemuImg() throws IOException {
    List<Map<String, String>> variants = List.of(
        Map.of("size", "64M"),
        Map.of("size", "12M", "block_size", "1M"),
        Map.of("size", "70M", "block_size", "32M"),
        Map.of("size", "9M", "block_size", "1M", "subformat", "fixed"),
        Map.of("size", "8M", "block_size", "2M", "block_state_zero", "off"),
        Map.of("size", "7340000", "block_size", "1M", "log_size", "2M"));
    int n = 0;
    for (Map<String, String> v : variants) {
      String memory = "memory:interop-ours" + n + ".vhdx";
      TestImages.registry().create(memory, VhdxDriver.NAME, v);
      byte[] model;
      try (BlockDevice d = TestImages.open(memory, false)) {
        model = new byte[(int) d.size()];
        exercise(d, model, n);
      }
      Path image = dir.resolve("ours" + n + ".vhdx");
      TestImages.dump(memory, image);
      TestImages.registry().driver("memory").delete(memory.substring(7));
      ok("qemu-img", "check", "-f", "vhdx", image.toString());
      Path raw = dir.resolve("model" + n + ".raw");
      Files.write(raw, model);
      ok("qemu-img", "compare", "-f", "vhdx", "-F", "raw", image.toString(), raw.toString());
      ok(io(image, qemuWrites(model.length, 100 + n)));
      assertSame(qemuReads(image), blockkitReads(image), v + " after qemu-io");
      n++;
    }
  }

  /** Random writes, zeros and discards, the same applied to {@code model}. */
  static void exercise(BlockDevice d, byte[] model, long seed) throws IOException {
    Random r = new Random(seed);
    long block = ((Number) d.info().clusterSize()).longValue();
    for (int i = 0; i < 40; i++) {
      int len = 1 + r.nextInt(i % 5 == 0 ? (int) Math.min(model.length, 3 * block) : 70000);
      len = Math.min(len, model.length);
      int off = r.nextInt(model.length - len + 1);
      if (i % 7 == 3) {
        off = (int) (r.nextInt((int) (model.length / block)) * block);
        len = (int) Math.min(block, model.length - off);
      }
      switch (r.nextInt(4)) {
        case 0, 1 -> {
          byte[] data = TestImages.random(seed * 100 + i, len);
          d.write(off, ByteBuffer.wrap(data));
          System.arraycopy(data, 0, model, off, len);
        }
        case 2 -> {
          d.writeZeroes(off, len);
          Arrays.fill(model, off, off + len, (byte) 0);
        }
        default -> {
          d.discard(off, len);
          Arrays.fill(model, off, off + len, (byte) 0);
        }
      }
    }
    assertArrayEquals(model, TestImages.readAll(d), "blockkit reads its own writes");
  }

  /**
   * Enough commits (allocations, and discards that free and cut blocks off) that the 1 MiB log
   * wraps: every commit stays replayable, and the closed image passes qemu-img check and reads
   * as written, in qemu-img and here.
   */
  @Test
  void aLongSessionWrapsTheLog() throws IOException {
    String memory = "memory:interop-wrap.vhdx";
    TestImages.registry().create(memory, VhdxDriver.NAME, Map.of("size", "16M",
        "block_size", "1M"));
    byte[] expected = new byte[16 * MIB];
    try (BlockDevice d = TestImages.open(memory, false)) {
      for (int i = 0; i < 150; i++) {
        int b = i % 16;
        byte[] data = TestImages.random(i, 100);
        TestImages.write(d, (long) b * MIB + 7 * i, data);
        System.arraycopy(data, 0, expected, b * MIB + 7 * i, 100);
        int freed = (i + 8) % 16;
        d.discard((long) freed * MIB, MIB);
        Arrays.fill(expected, freed * MIB, (freed + 1) * MIB, (byte) 0);
      }
    }
    Path image = dir.resolve("wrap.vhdx");
    TestImages.dump(memory, image);
    // The session's first entry (sequence 1) was at the log's start: a later one is there now.
    ByteBuffer first = ByteBuffer.wrap(Files.readAllBytes(image), MIB, 4096)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertEquals(0x65676F6C, first.getInt(MIB), "a log entry at the log's start");
    assertTrue(first.getLong(MIB + 16) > 1, "the log wrapped: sequence " + first.getLong(MIB + 16)
        + " at its start");
    TestImages.registry().driver("memory").delete(memory.substring(7));
    ok("qemu-img", "check", "-f", "vhdx", image.toString());
    assertSame(expected, qemuReads(image), "qemu-img");
    assertSame(expected, blockkitReads(image), "blockkit");
  }

  /**
   * qemu-img map calls every byte of a VHDX data; blockkit's block status tells stored data, ZERO
   * blocks (qemu-img's block_state_zero=on) and NOT_PRESENT holes (=off) apart, on qemu's images.
   */
  @Test
  void blockStatusTellsHolesAndZeros() throws IOException {
    for (String zeroState : List.of("on", "off")) {
      Path image = dir.resolve("map-" + zeroState + ".vhdx");
      ok("qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M,block_state_zero="
          + zeroState, image.toString(), "4M");
      ok(io(image, List.of("write -P 0x11 0 1M")));
      String map = ok("qemu-img", "map", "--output=json", "-f", "vhdx", image.toString())
          .output();
      assertTrue(map.contains("\"data\": true") && !map.contains("\"data\": false"),
          "qemu-img 7.2 maps all of a VHDX as data: " + map);
      try (BlockDevice d = TestImages.open(image, true)) {
        Extent data = d.blockStatus(0, 4 * MIB);
        assertTrue(data.data() && data.length() == MIB, "block 0: " + data);
        Extent rest = d.blockStatus(MIB, 3 * MIB);
        assertTrue(!rest.data() && rest.zero() && rest.length() == 3 * MIB, "blocks 1-3: " + rest);
        assertEquals(zeroState.equals("on"), rest.allocated(), "ZERO blocks are decided by the "
            + "image, NOT_PRESENT ones are holes: " + rest);
      }
    }
  }

  /**
   * The BAT interleaves a sector-bitmap entry after every chunk of payload entries: with 256 MiB
   * blocks and 512-byte sectors a chunk is 16 blocks, so a 5 GiB disk's block 16 is BAT entry 17.
   * qemu-io's writes on both sides of that seam read back here, and ours read back in qemu-io
   * (NOT_PRESENT blocks, so neither tool writes 256 MiB of zeros per block).
   */
  @Test
  void blocksOfTheLargestSizeCrossAChunk() throws IOException {
    long block = 256L * MIB;
    Path image = dir.resolve("chunks.vhdx");
    ok("qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=256M,block_state_zero=off",
        image.toString(), "5G");
    long[] qemuAt = {15 * block + 4096, 16 * block + 51200, 20 * block - 4096};
    List<String> writes = new ArrayList<>();
    for (int i = 0; i < qemuAt.length; i++) {
      writes.add("write -P " + (0x11 * (i + 1)) + " " + qemuAt[i] + " 4096");
    }
    ok(io(image, writes));
    try (BlockDevice d = TestImages.open(image, false)) {
      assertEquals(16L, ((Number) d.info().formatSpecific().get("chunk-ratio")).longValue());
      for (int i = 0; i < qemuAt.length; i++) {
        byte[] expected = new byte[4096];
        Arrays.fill(expected, (byte) (0x11 * (i + 1)));
        assertArrayEquals(expected, TestImages.read(d, qemuAt[i], 4096), "qemu-io's write at "
            + qemuAt[i]);
      }
      assertTrue(d.blockStatus(16 * block, block).data(), "block 16 holds qemu-io's data");
      assertTrue(!d.blockStatus(17 * block, block).data(), "block 17 is a hole");
      TestImages.write(d, 17 * block + 512, TestImages.random(17, 5000));
      TestImages.write(d, 16 * block - 2048, TestImages.random(16, 4096));
    }
    ok("qemu-img", "check", "-f", "vhdx", image.toString());
    // A window of the disk through the raw driver's offset and size (qemu-img dd's skip is no
    // help: it reads zeros there).
    Path out = dir.resolve("window.raw");
    for (long[] w : new long[][] {{17 * block + 512, 17, 5000}, {16 * block - 2048, 16, 4096}}) {
      Files.deleteIfExists(out);
      ok("qemu-img", "convert", "-O", "raw", "json:{\"driver\":\"raw\",\"offset\":" + w[0]
          + ",\"size\":" + (w[2] + 511) / 512 * 512 + ",\"file\":{\"driver\":\"vhdx\","
          + "\"file\":{\"driver\":\"file\",\"filename\":\"" + image + "\"}}}", out.toString());
      assertArrayEquals(TestImages.random(w[1], (int) w[2]),
          Arrays.copyOf(Files.readAllBytes(out), (int) w[2]), "qemu-img reads our write at " + w[0]);
    }
    String read = ok(io(image, List.of("read -P 0x22 " + qemuAt[1] + " 4096",
        "read -P 0x33 " + qemuAt[2] + " 4096"))).output();
    assertTrue(!read.contains("verification failed"), read);
  }

  /**
   * Block sizes outside 1-256 MiB or not a power of two, logs that are not whole megabytes and
   * logical sectors other than 512 and 4096 are refused here, naming the option, and leave no
   * file. qemu-img refuses only the block size that is not a power of two: it silently makes
   * 512K blocks 1M and 512M ones 256M, and rounds a log up to whole megabytes (docs/VHDX.md:
   * blockkit does not make an image other than the one asked for).
   */
  @Test
  void createRefusesWhatTheFormatCannotHold() throws IOException {
    String[][] refused = {{"block_size", "3M", null}, {"block_size", "512K", "1048576"},
        {"block_size", "512M", "268435456"}, {"log_size", "1536K", ""},
        {"logical_sector_size", "1024", null}};
    for (String[] o : refused) {
      Path image = dir.resolve("refused.vhdx");
      if (!o[0].equals("logical_sector_size")) {
        TestImages.Result r = TestImages.run("qemu-img", "create", "-q", "-f", "vhdx", "-o",
            o[0] + "=" + o[1], image.toString(), "64M");
        assertEquals(o[2] == null, r.exit() != 0, "qemu-img create with " + o[0] + "=" + o[1]
            + ":\n" + r.output());
        if (o[2] != null && !o[2].isEmpty()) {
          String info = ok("qemu-img", "info", "--output=json", image.toString()).output();
          assertTrue(info.contains("\"cluster-size\": " + o[2]), "qemu-img made " + info);
        }
        Files.deleteIfExists(image);
      }
      InvalidOptionException e = assertThrows(InvalidOptionException.class,
          () -> TestImages.create(image, Map.of("size", "64M", o[0], o[1])), o[0] + "=" + o[1]);
      assertTrue(e.getMessage().contains("'" + o[0] + "'"), e.getMessage());
      assertTrue(!Files.exists(image), "nothing left of a refused create: " + o[0]);
    }
  }

  /** qemu-img opens only 512-byte logical sectors: blockkit's 4096-byte images are its own. */
  @Test
  void qemuImgRefusesFourKilobyteSectors() throws IOException {
    Path image = dir.resolve("4k.vhdx");
    Map<String, String> o = new LinkedHashMap<>();
    o.put("size", "8M");
    o.put("logical_sector_size", "4096");
    TestImages.create(image, o);
    try (BlockDevice d = TestImages.open(image, false)) {
      TestImages.write(d, 4096, TestImages.random(1, 5000));
    }
    TestImages.Result r = TestImages.run("qemu-img", "info", "-f", "vhdx", image.toString());
    assertNotEquals(0, r.exit(), "qemu-img opened a 4096-byte-sector VHDX: " + r.output());
  }
}
