package io.blockkit.vmdk;

import static io.blockkit.vmdk.Tools.ok;
import static io.blockkit.vmdk.Tools.qemuIo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Differential tests against qemu-img and qemu-io 7.2: every subformat qemu makes reads back
 * byte-exact through blockkit; every subformat blockkit makes reads back identically in qemu
 * and passes its check; chains both ways; the CID rule as qemu applies it.
 */
class VmdkQemuInteropTest {
  private static final long MIB = 1 << 20;
  /** Past 2 GiB, so the split subformats have two extents (the second 3 MiB). */
  private static final long SPLIT_SIZE = (2L << 30) + 3 * MIB;

  @TempDir Path dir;

  @BeforeAll
  static void qemu() {
    Tools.requireQemu();
  }

  private static long sizeFor(String subformat) {
    return subformat.startsWith("twoGb") ? SPLIT_SIZE : 9 * MIB + 512;
  }

  /** Offsets around grain, table and extent boundaries, the last sector included. */
  private static List<long[]> writes(long size) {
    List<long[]> w = new ArrayList<>(List.of(new long[] {0, 4096}, new long[] {65536 - 100, 300},
        new long[] {3 * MIB, 2 * MIB}, new long[] {32 * MIB % size, 70000},
        new long[] {size - 512, 512}));
    if (size > (2L << 30)) {
      w.add(new long[] {(2L << 30) - 5000, 10000});
      w.add(new long[] {(1L << 30) + 12345, 65536});
    }
    w.removeIf(r -> r[0] + r[1] > size);
    return w;
  }

  @ParameterizedTest
  @ValueSource(strings = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
      "twoGbMaxExtentFlat", "streamOptimized"})
  void imagesQemuMakesReadBackIdentically(String subformat) throws IOException {
    long size = sizeFor(subformat);
    Path img = dir.resolve("q.vmdk");
    Path raw = dir.resolve("expected.raw");
    ok("qemu-img", "create", "-f", "raw", raw.toString(), Long.toString(size));
    int pattern = 0x11;
    for (long[] w : writes(size)) {
      ok("qemu-io", "-f", "raw", "-c", "write -P " + pattern++ + " " + w[0] + " " + w[1],
          raw.toString());
    }
    if (subformat.equals("streamOptimized")) {
      ok("qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", raw.toString(),
          img.toString());
    } else {
      ok("qemu-img", "create", "-f", "vmdk", "-o", "subformat=" + subformat, img.toString(),
          Long.toString(size));
      pattern = 0x11;
      for (long[] w : writes(size)) {
        qemuIo(img, "write -P " + pattern++ + " " + w[0] + " " + w[1]);
      }
      qemuIo(img, "write -z " + 6 * MIB + " " + 65536);
    }
    try (BlockDevice d = Tools.open(img, true)) {
      assertEquals(size, d.size(), subformat + ": size");
      if (size > (1L << 30)) {
        assertSameContent(d, raw, subformat, dataChunks(img, size));
      } else {
        assertSameContent(d, raw, subformat);
      }
      CheckReport r = d.check(CheckMode.REPORT);
      assertTrue(r.isClean(), subformat + ": our check of qemu's image: " + r.messages());
      assertSameInfo(img, d, subformat);
    }
  }

  /** info's format-specific fields as qemu-img info --output=json gives them. */
  private static void assertSameInfo(Path img, BlockDevice d, String what) throws IOException {
    String json = ok("qemu-img", "info", "--output=json", "-f", "vmdk", img.toString());
    Map<String, Object> ours = d.info().formatSpecific();
    for (String key : List.of("cid", "parent-cid")) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key
          + "\": (\\d+)").matcher(json);
      assertTrue(m.find(), what + ": qemu shows no " + key);
      assertEquals(Long.parseLong(m.group(1)), ((Number) ours.get(key)).longValue(),
          what + ": " + key);
    }
    assertTrue(json.contains("\"create-type\": \"" + ours.get("create-type") + "\""),
        what + ": create-type " + ours.get("create-type") + " vs\n" + json);
    List<?> extents = (List<?>) ours.get("extents");
    for (Object o : extents) {
      Map<?, ?> x = (Map<?, ?>) o;
      assertTrue(json.contains("\"format\": \"" + x.get("format") + "\""), what
          + ": extent format " + x.get("format") + " vs\n" + json);
      assertTrue(json.contains("\"virtual-size\": " + x.get("virtual-size")), what
          + ": extent size " + x.get("virtual-size") + " vs\n" + json);
    }
    assertEquals(extents.size(), json.split("\"virtual-size\"", -1).length - 2,
        what + ": extents listed");
  }

  @ParameterizedTest
  @ValueSource(strings = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
      "twoGbMaxExtentFlat", "streamOptimized"})
  void imagesBlockkitMakesReadBackIdenticallyInQemu(String subformat) throws IOException {
    long size = sizeFor(subformat);
    Path img = dir.resolve("b.vmdk");
    Path raw = dir.resolve("expected.raw");
    Tools.create(img, Map.of("size", Long.toString(size), "subformat", subformat));
    Random rnd = new Random(subformat.hashCode());
    try (BlockDevice d = Tools.open(img, false);
        FileChannel model = FileChannel.open(raw, StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE)) {
      model.truncate(0);
      List<long[]> ws = writes(size);
      ws.sort((a, b) -> Long.compare(a[0], b[0])); // a stream is written in order
      for (long[] w : ws) {
        byte[] data = new byte[(int) w[1]];
        rnd.nextBytes(data);
        Arrays.fill(data, 0, Math.min(1000, data.length), (byte) 0x5a); // compressible too
        Tools.writeAll(d, w[0], data);
        model.write(ByteBuffer.wrap(data), w[0]);
      }
      if (model.size() < size) {
        model.write(ByteBuffer.allocate(1), size - 1);
      }
    }
    String compare = ok("qemu-img", "compare", "-f", "vmdk", "-F", "raw", img.toString(),
        raw.toString());
    assertTrue(compare.contains("Images are identical"), subformat + ": " + compare);
    Tools.Result check = Tools.run("qemu-img", "check", "-f", "vmdk", img.toString());
    assertEquals(0, check.exit(), subformat + ": qemu-img check:\n" + check.output());
    String info = ok("qemu-img", "info", "-f", "vmdk", img.toString());
    assertTrue(info.contains("create type: " + subformat), info);
  }

  @Test
  void qemuChainsReadThroughBlockkit() throws IOException {
    Path base = dir.resolve("base.vmdk");
    Path mid = dir.resolve("mid.vmdk");
    Path top = dir.resolve("top.vmdk");
    ok("qemu-img", "create", "-f", "vmdk", base.toString(), "4M");
    qemuIo(base, "write -P 1 0 4M");
    ok("qemu-img", "create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", mid.toString());
    qemuIo(mid, "write -P 2 65536 100000");
    ok("qemu-img", "create", "-f", "vmdk", "-b", "mid.vmdk", "-F", "vmdk", top.toString());
    qemuIo(top, "write -P 3 1M 512", "write -z 3M 64k");
    Path raw = dir.resolve("top.raw");
    ok("qemu-img", "convert", "-O", "raw", top.toString(), raw.toString());
    try (BlockDevice d = Tools.open(top, true)) {
      assertSameContent(d, raw, "qemu chain");
      assertEquals("mid.vmdk", d.info().backing().filename());
    }
  }

  @Test
  void blockkitChainsReadThroughQemu() throws IOException {
    Path base = dir.resolve("base.vmdk");
    Path top = dir.resolve("top.vmdk");
    Tools.create(base, Map.of("size", "4M"));
    try (BlockDevice d = Tools.open(base, false)) {
      Tools.writeAll(d, 0, filled(4 * (int) MIB, 7));
    }
    Tools.create(top, Map.of("backing_file", "base.vmdk", "backing_fmt", "vmdk",
        "zeroed_grain", "on"));
    try (BlockDevice d = Tools.open(top, false)) {
      Tools.writeAll(d, 100, filled(1000, 9)); // copy-on-write of the rest of the grain
      d.writeZeroes(MIB, 2 * 65536); // zeroed grains over the parent's data
    }
    String out = ok("qemu-io", "-f", "vmdk", "-c", "read -P 7 0 100", "-c", "read -P 9 100 1000",
        "-c", "read -P 7 1100 " + (65536 - 1100), "-c", "read -P 0 1M 128k",
        "-c", "read -P 7 " + (MIB + 131072) + " 65536", top.toString());
    assertTrue(!out.contains("fail") && !out.contains("error"), out);
    assertEquals(0, Tools.run("qemu-img", "check", top.toString()).exit());
  }

  /**
   * The CID rule, decided like qemu: a child whose parent changed after it was made (the
   * parent's CID moved on) reads what it holds, and refuses reads that would fall through.
   */
  @Test
  void aParentWrittenAfterTheChildIsRefusedAsQemuRefusesIt() throws IOException {
    Path base = dir.resolve("base.vmdk");
    Path top = dir.resolve("top.vmdk");
    ok("qemu-img", "create", "-f", "vmdk", base.toString(), "1M");
    ok("qemu-img", "create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", top.toString());
    qemuIo(top, "write -P 3 0 512");
    try (BlockDevice d = Tools.open(base, false)) {
      Tools.writeAll(d, 65536, filled(512, 4)); // blockkit renews the CID like VMware
    }
    Tools.Result q = Tools.run("qemu-io", "-f", "vmdk", "-c", "read 65536 512", top.toString());
    assertTrue(q.output().contains("failed"), "qemu reads through a changed parent:\n"
        + q.output());
    List<String> warnings = new ArrayList<>();
    try (BlockDevice d = Tools.open(top, true, Map.of(), warnings::add)) {
      assertEquals(3, Tools.read(d, 0, 512)[0], "what the child holds still reads");
      BlockException e = assertThrows(BlockException.class, () -> Tools.read(d, 65536, 512));
      assertTrue(e.getMessage().contains("parentCID"), e.getMessage());
    }
    assertTrue(warnings.stream().anyMatch(w -> w.contains("parent's CID")), "warned: " + warnings);
    try (BlockDevice d = Tools.open(top, true, Map.of("backing.file.filename",
        base.toString()), w -> { })) {
      assertEquals(4, Tools.read(d, 65536, 512)[0], "a parent the user names is read");
    }
  }

  static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) v);
    return b;
  }

  /**
   * The 1 MiB chunks of a large image worth comparing: those qemu-img map says hold data or
   * zeros of their own, and 64 more at random (reading all of 2 GiB twice costs half a minute).
   */
  static List<Long> dataChunks(Path img, long size) throws IOException {
    String json = ok("qemu-img", "map", "--output=json", "-f", "vmdk", img.toString());
    java.util.TreeSet<Long> chunks = new java.util.TreeSet<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(
        "\\{ \"start\": (\\d+), \"length\": (\\d+), \"depth\": \\d+, \"present\": (true|false)"
        + ", \"zero\": (true|false), \"data\": (true|false)").matcher(json);
    while (m.find()) {
      if (m.group(5).equals("true") || m.group(3).equals("true") && m.group(4).equals("true")) {
        long start = Long.parseLong(m.group(1));
        long end = start + Long.parseLong(m.group(2));
        for (long c = start / MIB; c * MIB < end && chunks.size() < 512; c++) {
          chunks.add(c * MIB);
        }
      }
    }
    Random r = new Random(size);
    for (int i = 0; i < 64; i++) {
      chunks.add(r.nextLong(size / MIB) * MIB);
    }
    chunks.add((size - 1) / MIB * MIB);
    return new ArrayList<>(chunks);
  }

  /** Every byte of {@code d} equals the raw file's (zeros past its end), in 1 MiB chunks. */
  static void assertSameContent(BlockDevice d, Path raw, String what) throws IOException {
    List<Long> all = new ArrayList<>();
    for (long pos = 0; pos < d.size(); pos += MIB) {
      all.add(pos);
    }
    assertSameContent(d, raw, what, all);
  }

  /** The chunks at {@code chunks} of {@code d} equal the raw file's. */
  static void assertSameContent(BlockDevice d, Path raw, String what, List<Long> chunks)
      throws IOException {
    long size = d.size();
    try (FileChannel ch = FileChannel.open(raw)) {
      ByteBuffer a = ByteBuffer.allocate((int) MIB);
      ByteBuffer b = ByteBuffer.allocate((int) MIB);
      for (long pos : chunks) {
        int n = (int) Math.min(MIB, size - pos);
        a.clear().limit(n);
        b.clear().limit(n);
        d.read(pos, a);
        while (b.hasRemaining() && ch.read(b, pos + b.position()) > 0) {
          // fill from the raw file
        }
        if (!Arrays.equals(a.array(), 0, n, b.array(), 0, n)) {
          int i = Arrays.mismatch(a.array(), 0, n, b.array(), 0, n);
          fail(what + ": byte " + (pos + i) + " reads " + a.get(i) + ", qemu's "
              + b.get(i));
        }
      }
      assertTrue(Files.size(raw) <= size || size == 0, what + ": raw longer than image");
    }
  }
}
