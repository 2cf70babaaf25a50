package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.nbd.Peers;
import io.blockkit.nbd.TestCerts;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code blockkit serve} as a process (qemu-nbd's flags): silent on success, the pid file once
 * listening, stopping when the last client leaves unless {@code -t}, and on SIGTERM finishing
 * what it was asked, flushing and closing the image and exiting with 0. The real clients are
 * qemu-img, qemu-io, nbdinfo and nbdcopy.
 */
class ServeCommandTest {
  @TempDir
  Path dir;
  private Path vdi;
  private Path sock;
  private Path pid;
  private Path log;

  @BeforeEach
  void image() throws Exception {
    Peers.require("qemu-img", "qemu-io", "nbdinfo", "nbdcopy");
    vdi = dir.resolve("disk.vdi");
    sock = dir.resolve("nbd.sock");
    pid = dir.resolve("serve.pid");
    log = dir.resolve("serve.log");
    Peers.run("qemu-img", "create", "-f", "vdi", vdi.toString(), "64M").ok();
    Peers.run("qemu-io", "-f", "vdi", "-c", "write -P 0x11 0 1M", vdi.toString()).ok();
  }

  private Process serve(String... args) throws Exception {
    Process p = new ProcessBuilder(Proc.blockkit(args)).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(pid)) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly();
        fail("serve did not start: " + Files.readString(log));
      }
      Thread.sleep(20);
    }
    assertEquals(p.pid() + "\n", Files.readString(pid), "the pid file");
    return p;
  }

  private String uri() {
    return "nbd+unix:///?socket=" + sock;
  }

  /** The process ends by itself with 0, printing nothing and removing its pid file and socket. */
  private void assertStoppedCleanly(Process p) throws Exception {
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "serve did not stop");
    assertEquals(0, p.exitValue(), () -> "exit code; output: " + Interrupted.read(log));
    assertEquals("", Files.readString(log), "serve printed something");
    assertFalse(Files.exists(pid), "pid file left behind");
    assertFalse(Files.exists(sock), "socket left behind");
  }

  @Test
  void servesUntilTheLastClientLeaves() throws Exception {
    Process p = serve("serve", "-k", sock.toString(), "--pid-file", pid.toString(),
        vdi.toString());
    String info = Peers.run("qemu-img", "info", "--output=json", uri()).ok().stdout();
    assertTrue(info.contains("\"virtual-size\": 67108864"), info);
    assertStoppedCleanly(p);
  }

  @Test
  void sigtermFlushesAndClosesTheImageAndExitsWithZero() throws Exception {
    Process p = serve("serve", "-t", "-e", "3", "-f", "vdi", "-k", sock.toString(),
        "--pid-file", pid.toString(), vdi.toString());
    String json = Peers.run("nbdinfo", "--json", uri()).ok().stdout().replaceAll("\\s+", " ");
    assertTrue(json.contains("\"can_multi_conn\": true") && json.contains("\"is_read_only\": "
        + "false"), json);
    Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x61 2M 2M", "-c", "write -z 2M 64k",
        uri()).ok();
    Path big = dir.resolve("big.raw");
    Peers.run("qemu-img", "create", "-f", "raw", big.toString(), "64M").ok();
    Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x7e 0 64M", big.toString()).ok();
    // a copy of 64 MiB is running when the signal comes
    Process copy = new ProcessBuilder("nbdcopy", "--connections=3", big.toString(), uri())
        .redirectErrorStream(true).redirectOutput(dir.resolve("copy.log").toFile()).start();
    Thread.sleep(300);
    Interrupted.signal(p, "TERM");
    assertStoppedCleanly(p);
    copy.waitFor(60, TimeUnit.SECONDS);
    Peers.run("qemu-img", "check", "-f", "vdi", vdi.toString()).ok();
    // Every request the server accepted was finished: each of nbdcopy's 256 KiB writes is
    // there whole or not at all, over the content from before the copy.
    byte[] before = new byte[64 << 20];
    java.util.Arrays.fill(before, 0, 1 << 20, (byte) 0x11);
    java.util.Arrays.fill(before, (2 << 20) + 65536, 4 << 20, (byte) 0x61);
    Path now = dir.resolve("now.raw");
    Peers.run("qemu-img", "convert", "-f", "vdi", "-O", "raw", vdi.toString(), now.toString())
        .ok();
    byte[] got = Files.readAllBytes(now);
    byte[] copied = new byte[256 << 10];
    java.util.Arrays.fill(copied, (byte) 0x7e);
    int whole = 0;
    for (int off = 0; off < got.length; off += copied.length) {
      byte[] piece = java.util.Arrays.copyOfRange(got, off, off + copied.length);
      boolean isNew = java.util.Arrays.equals(piece, copied);
      whole += isNew ? 1 : 0;
      assertTrue(isNew || java.util.Arrays.equals(piece,
          java.util.Arrays.copyOfRange(before, off, off + copied.length)),
          "256 KiB at " + off + " is neither the old content nor the copy's");
    }
    assertTrue(copy.exitValue() != 0 || whole == 256, "nbdcopy succeeded: all of it is there");
  }

  @Test
  void readOnlyOverTls() throws Exception {
    Path certs = TestCerts.dir();
    Process p = serve("serve", "-r", "-t", "-x", "disk", "-k", sock.toString(), "--pid-file",
        pid.toString(), "--tls-cert", certs.resolve("server-cert.pem").toString(), "--tls-key",
        certs.resolve("server-key.pem").toString(), vdi.toString());
    String tls = "nbds+unix:///disk?socket=" + sock + "&tls-certificates=" + certs
        + "&tls-hostname=localhost";
    String json = Peers.run("nbdinfo", "--json", tls).ok().stdout().replaceAll("\\s+", " ");
    assertTrue(json.contains("\"TLS\": true") && json.contains("\"is_read_only\": true"), json);
    assertTrue(Peers.run("nbdinfo", "nbd+unix:///disk?socket=" + sock).exitCode() != 0,
        "served without TLS");
    Cli.Result r = Cli.run("compare", "-f", "raw", "-F", "vdi", tls, vdi.toString());
    assertEquals(0, r.code(), r.err());
    Interrupted.signal(p, "TERM");
    assertStoppedCleanly(p);
  }

  @Test
  void badFlagsAreOneLineErrors() throws Exception {
    String img = vdi.toString();
    assertEquals("blockkit: -k/--socket cannot be combined with -p/--port or -b/--bind",
        Cli.run("serve", "-k", "s", "-p", "1", img).assertOneLineError(1));
    assertEquals("blockkit: TLS needs both --tls-cert and --tls-key",
        Cli.run("serve", "--tls-cert", "c.pem", img).assertOneLineError(1));
    assertEquals("blockkit: -p/--port must be between 0 and 65535, not 70000",
        Cli.run("serve", "-p", "70000", img).assertOneLineError(1));
    Cli.run("serve", "-k", sock.toString(), dir.resolve("missing.vdi").toString())
        .assertOneLineError(1);
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      String line = Cli.run("serve", "-b", "127.0.0.1", "-p",
          Integer.toString(taken.getLocalPort()), img).assertOneLineError(1);
      assertEquals("blockkit: Cannot listen on 127.0.0.1:" + taken.getLocalPort()
          + ": Address already in use", line);
    }
  }
}
