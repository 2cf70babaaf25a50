package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real clients against {@link io.blockkit.nbd.server.NbdServer}: qemu-img, qemu-io, nbdinfo
 * and nbdcopy read what is served, see the same block status as qemu's own view of the image
 * (and as qemu-nbd serving it), and write through it into a VDI that then checks clean.
 */
class ServerInteropTest {
  @TempDir
  Path dir;
  private Path vdi;
  private Path reference;

  /** A 64 MiB VDI with data, a zeroed block and holes, made by qemu; its raw content. */
  @BeforeEach
  void image() throws Exception {
    Peers.require("qemu-img", "qemu-io");
    vdi = dir.resolve("disk.vdi");
    reference = dir.resolve("disk.raw");
    Peers.run("qemu-img", "create", "-f", "vdi", vdi.toString(), "64M").ok();
    Peers.run("qemu-io", "-f", "vdi", "-c", "write -P 0xab 0 1M", "-c", "write -P 0xcd 10M 2M",
        "-c", "write -P 0x01 33M 4k", "-c", "write -z 20M 1M", vdi.toString()).ok();
    Peers.run("qemu-img", "convert", "-f", "vdi", "-O", "raw", vdi.toString(),
        reference.toString()).ok();
  }

  private static BlockDevice open(Path image, boolean readOnly) throws Exception {
    return BlockRegistry.load().open(image.toString(),
        readOnly ? OpenParams.readOnlyDefaults() : OpenParams.defaults());
  }

  @Test
  void qemuImgAndNbdcopyReadWhatIsServed() throws Exception {
    Peers.require("nbdcopy");
    String qemuMap = mapOf(Peers.run("qemu-img", "map", "--output=json", "-f", "vdi",
        vdi.toString()).ok().stdout());
    try (Served s = Served.serve("vdi", open(vdi, true), "disk", b -> b)) {
      String info = Peers.run("qemu-img", "info", "--output=json", s.uri()).ok().stdout();
      assertTrue(info.contains("\"virtual-size\": 67108864"), info);
      Peers.run("qemu-img", "compare", "-f", "raw", "-F", "raw", s.uri(),
          reference.toString()).ok();
      assertEquals(qemuMap, mapOf(Peers.run("qemu-img", "map", "--output=json", "-f", "raw",
          s.uri()).ok().stdout()), "qemu-img map through the server vs of the file");
      Path copy = dir.resolve("copy.raw");
      Peers.run("nbdcopy", s.uri(), copy.toString()).ok();
      assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(copy), "nbdcopy");
      Path converted = dir.resolve("converted.raw");
      Peers.run("qemu-img", "convert", "-f", "raw", "-O", "raw", s.uri(),
          converted.toString()).ok();
      assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(converted),
          "qemu-img convert");
    }
  }

  /** qemu-img map's JSON as "start+length:data/zero" runs, neighbours with equal status merged. */
  static String mapOf(String json) {
    Matcher m = Pattern.compile("\"start\": (\\d+), \"length\": (\\d+),.*?\"zero\": (\\w+), "
        + "\"data\": (\\w+)").matcher(json);
    List<long[]> runs = new ArrayList<>();
    while (m.find()) {
      long start = Long.parseLong(m.group(1));
      long len = Long.parseLong(m.group(2));
      long status = (m.group(4).equals("true") ? 1 : 0) | (m.group(3).equals("true") ? 2 : 0);
      long[] last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
      if (last != null && last[2] == status && last[0] + last[1] == start) {
        last[1] += len;
      } else {
        runs.add(new long[] {start, len, status});
      }
    }
    StringBuilder s = new StringBuilder();
    for (long[] r : runs) {
      s.append(r[0]).append('+').append(r[1]).append(':')
          .append((r[2] & 1) != 0 ? "data" : "").append((r[2] & 2) != 0 ? "zero" : "").append(' ');
    }
    return s.toString().trim();
  }

  /**
   * nbdinfo's maps of both contexts, and what it reports about the export, are the same for
   * blockkit's server and qemu-nbd serving the same VDI.
   */
  @Test
  void nbdinfoSeesWhatQemuNbdServes() throws Exception {
    Peers.require("nbdinfo", "qemu-nbd");
    Path sock = dir.resolve("q.sock");
    String qemuBase;
    String qemuDepth;
    try (Peers.Server q = Peers.startOnSocket(sock, List.of("qemu-nbd", "-t", "-r", "-A",
        "-f", "vdi", "-x", "disk", "-k", sock.toString(), vdi.toString()))) {
      String uri = "nbd+unix:///disk?socket=" + sock;
      qemuBase = Peers.run("nbdinfo", "--map", uri).ok().stdout();
      qemuDepth = Peers.run("nbdinfo", "--map=qemu:allocation-depth", uri).ok().stdout();
    }
    try (Served s = Served.serve("vdi", open(vdi, true), "disk", b -> b.maxConnections(4))) {
      assertEquals(qemuBase, Peers.run("nbdinfo", "--map", s.uri()).ok().stdout());
      assertEquals(qemuDepth, Peers.run("nbdinfo", "--map=qemu:allocation-depth", s.uri())
          .ok().stdout());
      String json = Peers.run("nbdinfo", "--json", s.uri()).ok().stdout();
      for (String fact : List.of("\"protocol\": \"newstyle-fixed\"", "\"TLS\": false",
          "\"structured\": true", "\"base:allocation\"", "\"qemu:allocation-depth\"",
          "\"is_read_only\": true", "\"can_multi_conn\": true", "\"can_flush\": true",
          "\"can_df\": true", "\"can_cache\": true", "\"block_size_minimum\": 1",
          "\"block_size_preferred\": 4096", "\"block_size_maximum\": 33554432",
          "\"export-size\": 67108864")) {
        assertTrue(json.replaceAll("\\s+", " ").contains(fact), fact + " in " + json);
      }
      assertTrue(qemuBase.contains("hole,zero") && qemuBase.contains("data"), qemuBase);
    }
  }

  /**
   * qemu-io and qemu-img write through the server into a VDI (data, zeroes, discards, a whole
   * convert, and nbdcopy over several connections); afterwards qemu-img checks the VDI clean
   * and it reads back as expected.
   */
  @Test
  void writesThroughTheServerLeaveAVdiThatChecksClean() throws Exception {
    Peers.require("nbdcopy");
    Path pattern = dir.resolve("pattern.raw");
    Peers.run("qemu-img", "create", "-f", "raw", pattern.toString(), "64M").ok();
    Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x77 2M 3M", "-c", "write -P 0x78 40M 64k",
        pattern.toString()).ok();
    BlockDevice device = open(vdi, false);
    try (Served s = Served.serve("vdi", device, "disk", b -> b.maxConnections(0))) {
      Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 1M 64k", "-c", "write -z 10M 1M",
          "-c", "discard 11M 1M", "-c", "flush", "-c", "read -P 0x5a 1M 64k",
          "-c", "read -P 0 10M 2M", s.uri()).ok();
      Peers.run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", pattern.toString(),
          s.uri()).ok();
      Peers.run("qemu-img", "compare", "-f", "raw", "-F", "raw", pattern.toString(),
          s.uri()).ok();
      Peers.run("nbdcopy", "--connections=4", reference.toString(), s.uri()).ok();
    }
    device.close();
    Peers.run("qemu-img", "check", "-f", "vdi", vdi.toString()).ok();
    Peers.run("qemu-img", "compare", "-f", "vdi", "-F", "raw", vdi.toString(),
        reference.toString()).ok();
  }

  @Test
  void aReadOnlyExportRefusesWrites() throws Exception {
    try (Served s = Served.serve("vdi", open(vdi, false), "disk", b -> b.readOnly(true))) {
      Peers.Result r = Peers.run("qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", s.uri());
      assertNotEquals(0, r.exitCode(), "qemu-io opened a read-only export for writing");
      assertTrue(r.stderr().contains("Permission denied"), r.stderr());
      Peers.run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0xab 0 1M", s.uri()).ok();
      Peers.run("qemu-img", "compare", "-f", "raw", "-F", "raw", s.uri(), reference.toString())
          .ok();
    }
  }
}
