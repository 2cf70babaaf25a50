package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code nbd} drivers against real servers: qemu-nbd and nbdkit, with and without structured
 * replies, oldstyle, a minimum block size, TLS, servers that fail requests, stop answering or go
 * away. Every failure must be one clear message, never a hang.
 */
class ClientInteropTest {
  @TempDir
  Path dir;

  private static BlockDevice open(String uri, String format, boolean readOnly)
      throws IOException {
    OpenParams p = readOnly ? OpenParams.readOnlyDefaults() : OpenParams.defaults();
    return BlockRegistry.load().open(uri, format == null ? p : p.withFormat(format));
  }

  private static byte[] readAll(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    d.read(0, b);
    return b.array();
  }

  private static String unixUri(Path sock, String name) {
    return "nbd+unix:///" + name + "?socket=" + sock;
  }

  /** A VDI made by qemu, and its raw content. */
  private Path[] vdi() throws Exception {
    Peers.require("qemu-img", "qemu-io");
    Path vdi = dir.resolve("disk.vdi");
    Path raw = dir.resolve("disk.raw");
    Peers.run("qemu-img", "create", "-f", "vdi", vdi.toString(), "32M").ok();
    Peers.run("qemu-io", "-f", "vdi", "-c", "write -P 0x3c 0 1M", "-c", "write -P 0x4d 7M 3M",
        vdi.toString()).ok();
    Peers.run("qemu-img", "convert", "-f", "vdi", "-O", "raw", vdi.toString(), raw.toString())
        .ok();
    return new Path[] {vdi, raw};
  }

  /** qemu-nbd serving a VDI's bytes: probing finds vdi, and the virtual disk reads right. */
  @Test
  void aVdiServedRawByQemuNbdIsProbedAsVdi() throws Exception {
    Path[] img = vdi();
    Path sock = dir.resolve("q.sock");
    try (Peers.Server q = Peers.startOnSocket(sock, List.of("qemu-nbd", "-t", "-r", "-f", "raw",
        "-x", "disk", "-k", sock.toString(), img[0].toString()));
        BlockDevice d = open(unixUri(sock, "disk"), null, true)) {
      assertEquals("vdi", d.driver().name());
      assertEquals("nbd+unix", d.child().orElseThrow().driver().name());
      assertArrayEquals(Files.readAllBytes(img[1]), readAll(d));
    }
  }

  /**
   * qemu-nbd serving the virtual disk: the content, and block status runs equal to qemu-img
   * map's view of the VDI; then writes through it leave a VDI that checks clean.
   */
  @Test
  void qemuNbdExportsReadAndWriteThroughTheDriver() throws Exception {
    Path[] img = vdi();
    String expected = ServerInteropTest.mapOf(Peers.run("qemu-img", "map", "--output=json",
        "-f", "vdi", img[0].toString()).ok().stdout());
    Path sock = dir.resolve("q.sock");
    byte[] data = new byte[300_000];
    new Random(5).nextBytes(data);
    try (Peers.Server q = Peers.startOnSocket(sock, List.of("qemu-nbd", "-t", "-f", "vdi",
        "-k", sock.toString(), img[0].toString()))) {
      try (BlockDevice d = open(unixUri(sock, ""), "raw", false)) {
        assertTrue(d.capabilities().contains(Capability.BLOCK_STATUS));
        assertArrayEquals(Files.readAllBytes(img[1]), readAll(d));
        assertEquals(expected, statusRuns(d));
        d.write(5_000_123, ByteBuffer.wrap(data));
        d.writeZeroes(7L << 20, 1 << 20);
        d.discard(9L << 20, 1 << 20);
        d.flush();
      }
    }
    Peers.run("qemu-img", "check", "-f", "vdi", img[0].toString()).ok();
    byte[] after = Files.readAllBytes(img[1]);
    System.arraycopy(data, 0, after, 5_000_123, data.length);
    java.util.Arrays.fill(after, 7 << 20, 8 << 20, (byte) 0);
    Path now = dir.resolve("now.raw");
    Peers.run("qemu-img", "convert", "-f", "vdi", "-O", "raw", img[0].toString(), now.toString())
        .ok();
    byte[] got = Files.readAllBytes(now);
    // the discarded MiB reads as zeros or as before; everything else exactly as written
    java.util.Arrays.fill(after, 9 << 20, 10 << 20, (byte) 0);
    byte[] discarded = java.util.Arrays.copyOfRange(got, 9 << 20, 10 << 20);
    java.util.Arrays.fill(got, 9 << 20, 10 << 20, (byte) 0);
    assertArrayEquals(after, got);
    assertTrue(java.util.Arrays.equals(discarded, new byte[1 << 20])
        || java.util.Arrays.equals(discarded, java.util.Arrays.copyOfRange(
            Files.readAllBytes(img[1]), 9 << 20, 10 << 20)), "discarded range");
  }

  /** Block status of the whole device as qemu-img map's merged runs. */
  static String statusRuns(BlockDevice d) throws IOException {
    StringBuilder json = new StringBuilder();
    long pos = 0;
    while (pos < d.size()) {
      Extent e = d.blockStatus(pos, d.size() - pos);
      json.append("{ \"start\": ").append(e.offset()).append(", \"length\": ")
          .append(e.length()).append(", \"zero\": ").append(e.zero()).append(", \"data\": ")
          .append(e.data()).append("}\n");
      pos = e.end();
    }
    return ServerInteropTest.mapOf(json.toString());
  }

  /** nbdkit, with structured replies and with --no-sr (simple replies, no block status). */
  @Test
  void nbdkitWithAndWithoutStructuredReplies() throws Exception {
    for (boolean structured : new boolean[] {true, false}) {
      Path sock = dir.resolve("k" + structured + ".sock");
      List<String> cmd = new ArrayList<>(List.of("nbdkit", "-f", "--exit-with-parent", "-U",
          sock.toString()));
      if (!structured) {
        cmd.add("--no-sr");
      }
      cmd.addAll(List.of("memory", "16M"));
      byte[] data = new byte[3 << 20];
      new Random(6).nextBytes(data);
      try (Peers.Server k = Peers.startOnSocket(sock, cmd);
          BlockDevice d = open(unixUri(sock, ""), "raw", false)) {
        assertEquals(structured, d.capabilities().contains(Capability.BLOCK_STATUS),
            "block status with structured replies only");
        d.write(1_000_001, ByteBuffer.wrap(data));
        d.writeZeroes(2L << 20, 65536);
        java.util.Arrays.fill(data, (2 << 20) - 1_000_001, (2 << 20) - 1_000_001 + 65536,
            (byte) 0);
        ByteBuffer back = ByteBuffer.allocateDirect(data.length);
        d.read(1_000_001, back);
        byte[] b = new byte[data.length];
        back.flip().get(b);
        assertArrayEquals(data, b, "round trip, structured=" + structured);
        Extent head = d.blockStatus(0, d.size());
        if (structured) {
          assertTrue(!head.data() && head.zero() && head.length() <= 1_000_001
              && head.length() >= 512 << 10, "nbdkit memory's untouched start is a hole: " + head);
        } else {
          assertTrue(head.data() && head.length() == d.size(), "all data without status");
        }
      }
    }
  }

  /** An oldstyle server and one that requires 4 KiB alignment (unaligned I/O is widened). */
  @Test
  void oldstyleAndAlignedOnlyServers() throws Exception {
    int port = Peers.freePort();
    try (Peers.Server k = Peers.startOnPort(port, List.of("nbdkit", "-f", "--exit-with-parent",
        "-o", "-p", Integer.toString(port), "-i", "127.0.0.1", "memory", "1M"));
        BlockDevice d = open("nbd://127.0.0.1:" + port, "raw", false)) {
      d.write(100, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      ByteBuffer b = ByteBuffer.allocate(3);
      d.read(100, b);
      assertArrayEquals(new byte[] {1, 2, 3}, b.array());
    }
    Path sock = dir.resolve("a.sock");
    try (Peers.Server k = Peers.startOnSocket(sock, List.of("nbdkit", "-f", "--exit-with-parent",
        "-U", sock.toString(), "--filter=blocksize-policy", "memory", "1M",
        "blocksize-minimum=4096", "blocksize-preferred=4096", "blocksize-maximum=65536",
        "blocksize-error-policy=error"))) {
      byte[] data = new byte[200_000];
      new Random(7).nextBytes(data);
      try (BlockDevice d = open(unixUri(sock, ""), "raw", false)) {
        d.write(4097, ByteBuffer.wrap(data));
        d.write(3, ByteBuffer.wrap(new byte[] {9}));
        ByteBuffer back = ByteBuffer.allocate(data.length);
        d.read(4097, back);
        assertArrayEquals(data, back.array());
        ByteBuffer one = ByteBuffer.allocate(5);
        d.read(1, one);
        assertArrayEquals(new byte[] {0, 0, 9, 0, 0}, one.array());
      }
    }
  }

  /** A missing export, a server that fails requests, stops answering, or goes away. */
  @Test
  void failuresAreOneClearLine() throws Exception {
    Path sock = dir.resolve("q.sock");
    Path img = dir.resolve("x.raw");
    Files.write(img, new byte[1 << 20]);
    try (Peers.Server q = Peers.startOnSocket(sock, List.of("qemu-nbd", "-t", "-f", "raw",
        "-x", "disk", "-k", sock.toString(), img.toString()))) {
      BlockException e = assertThrows(BlockException.class,
          () -> open(unixUri(sock, "nope"), "raw", true));
      assertEquals("NBD server " + unixUri(sock, "nope") + " has no export 'nope' (the server "
          + "says: export 'nope' not present)", e.getMessage());
    }
    Path errSock = dir.resolve("e.sock");
    try (Peers.Server k = Peers.startOnSocket(errSock, List.of("nbdkit", "-f",
        "--exit-with-parent", "-U", errSock.toString(), "--filter=error", "memory", "1M",
        "error-pread=EIO", "error-pread-rate=1", "error-pwrite=ENOSPC", "error-pwrite-rate=1"));
        BlockDevice d = open(unixUri(errSock, ""), "raw", false)) {
      IOException read = assertThrows(IOException.class,
          () -> d.read(0, ByteBuffer.allocate(512)));
      assertEquals("NBD server " + unixUri(errSock, "") + " failed a read of 512 bytes at "
          + "offset 0: Input/output error", read.getMessage());
      ImageAccessException write = assertThrows(ImageAccessException.class,
          () -> d.write(0, ByteBuffer.allocate(512)));
      assertEquals(ImageAccessException.Reason.NO_SPACE, write.reason());
    }
    Path slowSock = dir.resolve("s.sock");
    try (Peers.Server k = Peers.startOnSocket(slowSock, List.of("nbdkit", "-f",
        "--exit-with-parent", "-U", slowSock.toString(), "--filter=delay", "memory", "1M",
        "delay-read=30"));
        BlockDevice d = open(unixUri(slowSock, "") + "&timeout=1", "raw", true)) {
      long t0 = System.nanoTime();
      IOException late = assertThrows(IOException.class,
          () -> d.read(0, ByteBuffer.allocate(512)));
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertTrue(ms < 10_000, "gave up after " + ms + " ms");
      assertEquals("NBD server " + unixUri(slowSock, "") + "&timeout=1 did not answer a read "
          + "of 512 bytes at offset 0 within 1 s", late.getMessage());
    }
    Path goneSock = dir.resolve("g.sock");
    Peers.Server k = Peers.startOnSocket(goneSock, List.of("nbdkit", "-f", "--exit-with-parent",
        "-U", goneSock.toString(), "memory", "1M"));
    try (BlockDevice d = open(unixUri(goneSock, ""), "raw", true)) {
      k.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      IOException gone = assertThrows(IOException.class,
          () -> d.read(0, ByteBuffer.allocate(512)));
      assertEquals("NBD server " + unixUri(goneSock, "") + " closed the connection",
          gone.getMessage());
    } finally {
      k.close();
    }
  }

  /** nbdkit requiring TLS: nbds with the right authority works; without TLS, or trusting
   * another authority, fails with a message that says why. */
  @Test
  void tlsWithNbdkit() throws Exception {
    Path certs = TestCerts.dir();
    Path sock = dir.resolve("t.sock");
    String tlsUri = "nbds+unix:///?socket=" + sock + "&tls-hostname=localhost&tls-certificates=";
    try (Peers.Server k = Peers.startOnSocket(sock, List.of("nbdkit", "-f",
        "--exit-with-parent", "-U", sock.toString(), "--tls=require",
        "--tls-certificates=" + certs, "memory", "1M"))) {
      try (BlockDevice d = open(tlsUri + TestCerts.caOnly(), "raw", false)) {
        byte[] data = new byte[100_000];
        new Random(8).nextBytes(data);
        d.write(12345, ByteBuffer.wrap(data));
        ByteBuffer back = ByteBuffer.allocate(data.length);
        d.read(12345, back);
        assertArrayEquals(data, back.array());
      }
      BlockException plain = assertThrows(BlockException.class,
          () -> open(unixUri(sock, ""), "raw", true));
      assertTrue(plain.getMessage().contains("requires TLS: use nbds://"), plain.getMessage());
      Path other = dir.resolve("other");
      Files.createDirectories(other);
      // trusting only the client's certificate, which signed nothing
      Files.copy(certs.resolve("client-cert.pem"), other.resolve("ca-cert.pem"));
      BlockException untrusted = assertThrows(BlockException.class,
          () -> open(tlsUri + other, "raw", true));
      assertTrue(untrusted.getMessage().contains("not signed by a trusted authority"),
          untrusted.getMessage());
      assertFalse(untrusted.getMessage().contains("Exception"), untrusted.getMessage());
    }
  }
}
