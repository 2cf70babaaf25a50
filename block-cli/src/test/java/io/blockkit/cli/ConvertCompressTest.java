package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convert -c}: compressed targets, judged by qemu-img. */
class ConvertCompressTest {
  @TempDir
  Path dir;

  /** 12 MiB: compressible text, incompressible noise, zeros, a partial last cluster. */
  private Path source() throws Exception {
    byte[] data = new byte[(12 << 20) + 3000];
    byte[] text = "the quick brown fox jumps over the lazy dog 0123456789\n"
        .getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < 6 << 20; i++) {
      data[i] = text[i % text.length];
    }
    byte[] noise = new byte[3 << 20];
    new Random(11).nextBytes(noise);
    System.arraycopy(noise, 0, data, 6 << 20, noise.length);
    // 9 MiB .. 11 MiB stays zero; then text again, and the odd tail
    for (int i = 11 << 20; i < data.length; i++) {
      data[i] = text[i % text.length];
    }
    Path src = dir.resolve("src.raw");
    Files.write(src, data);
    return src;
  }

  private static double compressedPercent(String checkOut) {
    Matcher m = Pattern.compile("([0-9.]+)% compressed clusters").matcher(checkOut);
    assertTrue(m.find(), checkOut);
    return Double.parseDouble(m.group(1));
  }

  private void assertQemuAgrees(Path src, Path dst, String fmt) throws Exception {
    Cli.Result check = Qemu.run("check", "-f", fmt, dst.toString());
    assertEquals(0, check.code(), check.out() + check.err());
    Cli.Result cmp = Qemu.run("compare", "-f", "raw", "-F", fmt, src.toString(), dst.toString());
    assertEquals(0, cmp.code(), cmp.out() + cmp.err());
  }

  @Test
  void compressedQcow2PassesQemuCheckComparesEqualAndHoldsCompressedClusters() throws Exception {
    Qemu.require();
    Path src = source();
    Path dst = dir.resolve("c.qcow2");
    Cli.ok("convert", "-c", "-m", "4", "-f", "raw", "-O", "qcow2", src.toString(),
        dst.toString());
    assertQemuAgrees(src, dst, "qcow2");
    double pct = compressedPercent(Qemu.run("check", dst.toString()).out());
    assertTrue(pct > 40, "compressed clusters: " + pct + "%");
    // qemu-img map gives no host offset for compressed data, one for the plain (noise) clusters
    JsonNode map = Cli.JSON.readTree(Qemu.run("map", "--output=json", dst.toString()).out());
    boolean compressedRun = false;
    boolean plainRun = false;
    for (JsonNode e : map) {
      if (e.get("data").asBoolean()) {
        compressedRun |= !e.has("offset");
        plainRun |= e.has("offset");
      }
    }
    assertTrue(compressedRun && plainRun, map.toString());
    // text compresses about 20 to 1: the file is far below the 10 MiB of data
    assertTrue(Files.size(dst) < (5 << 20), "size " + Files.size(dst));
    // the same without -c stores nothing compressed
    Path plain = dir.resolve("p.qcow2");
    Cli.ok("convert", "-f", "raw", "-O", "qcow2", src.toString(), plain.toString());
    assertEquals(0.0, compressedPercent(Qemu.run("check", plain.toString()).out()));
  }

  @Test
  void zstdCompressedQcow2ReadsBackInQemu() throws Exception {
    Qemu.require();
    Path src = source();
    Path dst = dir.resolve("z.qcow2");
    Cli.ok("convert", "-c", "-o", "compression_type=zstd", "-f", "raw", "-O", "qcow2",
        src.toString(), dst.toString());
    assertQemuAgrees(src, dst, "qcow2");
    assertTrue(Qemu.run("info", dst.toString()).out().contains("compression type: zstd"));
    assertTrue(compressedPercent(Qemu.run("check", dst.toString()).out()) > 40);
  }

  @Test
  void formatsWithoutCompressionRefuseMinusCAndLeaveNoTarget() throws Exception {
    Path src = dir.resolve("s.raw");
    Files.write(src, new byte[1 << 20]);
    Path dst = dir.resolve("d.vdi");
    String line = Cli.run("convert", "-c", "-f", "raw", "-O", "vdi", src.toString(),
        dst.toString()).assertOneLineError(1);
    assertTrue(line.contains("Compression not supported for this file format"), line);
    assertFalse(Files.exists(dst));
    Files.write(dst, new byte[1 << 20]);
    String n = Cli.run("convert", "-n", "-c", "-f", "raw", "-O", "raw", src.toString(),
        dst.toString()).assertOneLineError(1);
    assertTrue(n.contains("-n"), n);
  }

  @Test
  void streamOptimizedVmdkStillConvertsAndQemuReadsIt() throws Exception {
    Qemu.require();
    Path src = source();
    Path dst = dir.resolve("s.vmdk");
    Cli.ok("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized",
        src.toString(), dst.toString());
    assertQemuAgrees(src, dst, "vmdk");
    assertTrue(Qemu.run("info", dst.toString()).out().contains("streamOptimized"));
  }

  @Test
  void oddSizedRawConvertsToQcow2WithoutLosingItsLastPartialSector() throws Exception {
    Qemu.require();
    Path src = source(); // 12 MiB + 3000 bytes
    Path dst = dir.resolve("odd.qcow2");
    Cli.ok("convert", "-f", "raw", "-O", "qcow2", src.toString(), dst.toString());
    assertQemuAgrees(src, dst, "qcow2");
    Path mine = dir.resolve("mine.qcow2");
    Path theirs = dir.resolve("theirs.qcow2");
    Cli.ok("create", "-f", "qcow2", mine.toString(), "12585912");
    Qemu.run("create", "-f", "qcow2", theirs.toString(), "12585912");
    assertEquals(Cli.JSON.readTree(Qemu.run("info", "--output=json", theirs.toString()).out())
        .get("virtual-size"), Cli.JSON.readTree(Qemu.run("info", "--output=json",
            mine.toString()).out()).get("virtual-size"));
  }
}
