package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blockkit.nbd.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NBD URIs wherever a file name goes: {@code info}, {@code map}, {@code compare} and {@code
 * convert} both ways, against qemu-nbd and nbdkit, with a format probed over the export (a VDI
 * served raw is a vdi) and qemu-img's own answers on the same URIs as the reference.
 */
class NbdUriCliTest {
  @TempDir
  Path dir;
  private Path vdi;

  @BeforeEach
  void image() throws Exception {
    Peers.require("qemu-img", "qemu-io", "qemu-nbd", "nbdkit");
    vdi = dir.resolve("disk.vdi");
    Peers.run("qemu-img", "create", "-f", "vdi", vdi.toString(), "32M").ok();
    Peers.run("qemu-io", "-f", "vdi", "-c", "write -P 0x21 0 1M", "-c", "write -P 0x22 5M 2M",
        vdi.toString()).ok();
  }

  @Test
  void aVdiServedRawIsReadAsVdi() throws Exception {
    Path sock = dir.resolve("q.sock");
    String uri = "nbd+unix:///?socket=" + sock;
    try (Peers.Server q = Peers.startOnSocket(sock, List.of("qemu-nbd", "-t", "-r", "-f", "raw",
        "-k", sock.toString(), vdi.toString()))) {
      JsonNode info = Cli.ok("info", "--output=json", uri).json();
      assertEquals("vdi", info.get("format").asText());
      assertEquals(32L << 20, info.get("virtual-size").asLong());
      JsonNode ours = Cli.ok("map", "--output=json", uri).json();
      JsonNode qemus = Cli.JSON.readTree(Peers.run("qemu-img", "map", "--output=json", uri).ok()
          .stdout());
      assertEquals(qemus.size(), ours.size(), ours + " vs " + qemus);
      for (int i = 0; i < ours.size(); i++) {
        for (String key : List.of("start", "length", "depth", "present", "zero", "data",
            "offset")) {
          assertEquals(qemus.get(i).get(key), ours.get(i).get(key), key + " of entry " + i);
        }
      }
      assertEquals("Images are identical.\n", Cli.ok("compare", uri, vdi.toString()).out());
      Path raw = dir.resolve("out.raw");
      Cli.ok("convert", "-O", "raw", uri, raw.toString());
      Peers.run("qemu-img", "compare", "-f", "raw", "-F", "vdi", raw.toString(), vdi.toString())
          .ok();
    }
  }

  @Test
  void convertIntoAnExport() throws Exception {
    Path sock = dir.resolve("k.sock");
    String uri = "nbd+unix:///?socket=" + sock;
    try (Peers.Server k = Peers.startOnSocket(sock, List.of("nbdkit", "-f", "--exit-with-parent",
        "-U", sock.toString(), "memory", "32M"))) {
      Cli.ok("convert", "-n", "-O", "raw", vdi.toString(), uri);
      Peers.run("qemu-img", "compare", "-f", "raw", "-F", "vdi", uri, vdi.toString()).ok();
      assertEquals(0, Cli.run("compare", "-f", "raw", "-F", "vdi", uri, vdi.toString()).code());
    }
  }

  @Test
  void unreachableOrMissingExportsAreOneLine() throws Exception {
    Path sock = dir.resolve("q.sock");
    try (Peers.Server q = Peers.startOnSocket(sock, List.of("qemu-nbd", "-t", "-r", "-x", "disk",
        "-f", "vdi", "-k", sock.toString(), vdi.toString()))) {
      String uri = "nbd+unix:///nope?socket=" + sock;
      assertEquals("blockkit: NBD server " + uri + " has no export 'nope' (the server says: "
          + "export 'nope' not present)", Cli.run("info", uri).assertOneLineError(1));
    }
    int port = Peers.freePort();
    assertEquals("blockkit: Could not connect to NBD server nbd://127.0.0.1:" + port
        + "/x: Connection refused", Cli.run("info", "nbd://127.0.0.1:" + port + "/x")
        .assertOneLineError(1));
    String bad = Cli.run("info", "nbd+unix:///x").assertOneLineError(1);
    assertTrue(bad.contains("socket=PATH"), bad);
    assertTrue(Files.exists(vdi));
  }
}
