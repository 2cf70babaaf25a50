package io.blockkit.verify.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BackingChain;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backing chains that mix formats: qcow2 layers over a VDI base (VDI has no backing file of its
 * own, in qemu or in blockkit, so it can only be the base). Built and written by qemu, read
 * through blockkit and compared with what qemu reads; then written through blockkit and judged
 * by qemu-img check and compare.
 */
class Qcow2MixedChainTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  @BeforeEach
  void needsQemu() {
    Qemu.require("qemu-img", "qemu-io");
  }

  private byte[] qemuReads(Path top) throws Exception {
    Path raw = dir.resolve("expected-" + top.getFileName() + ".raw");
    Qemu.img("convert", "-O", "raw", top.toString(), raw.toString()).expect(0);
    return Files.readAllBytes(raw);
  }

  private static void assertSame(byte[] expected, byte[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": size");
    assertEquals(-1, Images.mismatch(expected, actual), what + ": first differing byte");
  }

  private static long field(String entry, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*(\\w+)").matcher(entry);
    if (!m.find()) {
      throw new AssertionError("qemu-img map entry without " + key + ": " + entry);
    }
    String v = m.group(1);
    return v.equals("true") ? 1 : v.equals("false") ? 0 : Long.parseLong(v);
  }

  /** Our block status agrees with qemu-img map on data/zero runs and on the depth of each. */
  private static void assertMapLikeQemu(Path top, BlockDevice d) throws Exception {
    String json = Qemu.img("map", "--output=json", top.toString()).expect(0).stdout();
    Matcher entry = Pattern.compile("\\{([^}]*)\\}").matcher(json);
    while (entry.find()) {
      String q = entry.group(1);
      long pos = field(q, "start");
      long end = pos + field(q, "length");
      while (pos < end) {
        BackingChain.Status s = BackingChain.status(d, pos, end - pos);
        String at = top.getFileName() + " at " + pos + " (qemu: " + q + ")";
        assertEquals(field(q, "data") == 1, s.extent().data(), at + " data");
        assertEquals(field(q, "zero") == 1, s.extent().zero(), at + " zero");
        assertEquals(field(q, "depth"), s.depth(), at + " depth");
        pos += s.extent().length();
      }
    }
  }

  @Test
  void qcow2LayersOverAVdiBaseReadAndWriteLikeQemu() throws Exception {
    Path base = dir.resolve("base.vdi");
    Qemu.img("create", "-q", "-f", "vdi", base.toString(), Integer.toString(8 * MIB)).expect(0);
    Qemu.io("vdi", base, List.of("write -P 0x51 0 3M", "write -P 0x52 5M 1M")).expect(0);
    Path mid = dir.resolve("mid.qcow2");
    Qemu.img("create", "-q", "-f", "qcow2", "-b", "base.vdi", "-F", "vdi", mid.toString())
        .expect(0);
    Qemu.io("qcow2", mid, List.of("write -P 0x61 64k 64k", "write -z 1M 64k",
        "write -P 0x62 5M 4k")).expect(0);
    Path top = dir.resolve("top.qcow2");
    Qemu.img("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "-o",
        "cluster_size=4k", top.toString()).expect(0);
    Qemu.io("qcow2", top, List.of("write -P 0x71 70k 10k", "write -z 2M 4k")).expect(0);

    for (Path image : List.of(mid, top)) {
      try (BlockDevice d = Images.open(image.toString(), null, true)) {
        assertSame(qemuReads(image), Images.readAll(d), image.getFileName() + " over vdi");
        assertMapLikeQemu(image, d);
      }
    }

    // Copy-on-write through blockkit pulls partial clusters from every layer down to the vdi.
    try (BlockDevice d = Images.open(top.toString(), null, false)) {
      Images.write(d, 5000, Images.pattern(1, 3000));
      Images.write(d, 5 * MIB + 100, Images.pattern(2, 9000));
      d.writeZeroes(MIB + 4096, 4096);
    }
    Qemu.img("check", top.toString()).expect(0);
    try (BlockDevice d = Images.open(top.toString(), null, true)) {
      assertSame(qemuReads(top), Images.readAll(d), "top after our writes");
    }
  }
}
