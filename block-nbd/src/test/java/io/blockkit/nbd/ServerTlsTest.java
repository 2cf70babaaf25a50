package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.nbd.protocol.Tls;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link io.blockkit.nbd.server.NbdServer} with TLS (the JDK's) and GnuTLS clients: qemu-img,
 * qemu-io (x509 credentials), nbdinfo and nbdcopy ({@code nbds://}), and blockkit's own driver;
 * with client certificates required, a client without one is refused and the others served.
 */
class ServerTlsTest {
  private static Path certs;

  @TempDir
  Path dir;

  @BeforeAll
  static void certificates() throws Exception {
    certs = TestCerts.dir();
  }

  private static SSLContext server(boolean clientCertificates) throws Exception {
    return Tls.serverContext(certs.resolve("server-cert.pem"), certs.resolve("server-key.pem"),
        clientCertificates ? certs.resolve("ca-cert.pem") : null);
  }

  /** qemu's client options for x509 credentials in {@code creds}. */
  private static List<String> qemuTls(Path creds, Served s) {
    return List.of("--object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + creds,
        "--image-opts", "driver=raw,file.driver=nbd,file.server.type=inet,"
            + "file.server.host=127.0.0.1,file.server.port=" + s.port() + ",file.export=disk,"
            + "file.tls-creds=tls0");
  }

  private static List<String> cmd(List<String> head, List<String> tail) {
    List<String> all = new java.util.ArrayList<>(head);
    all.addAll(tail);
    return all;
  }

  @Test
  void gnutlsClientsReadAndWriteOverTls() throws Exception {
    Peers.require("qemu-img", "qemu-io", "nbdinfo", "nbdcopy");
    byte[] data = new byte[2 << 20];
    new Random(9).nextBytes(data);
    Path src = dir.resolve("src.raw");
    Files.write(src, data);
    SSLContext tls = server(false);
    try (Served s = Served.memory(2 << 20, "disk", b -> b.tls(tls, false))) {
      String nbds = "nbds://127.0.0.1:" + s.port() + "/disk?tls-certificates=" + certs;
      Peers.run("nbdcopy", src.toString(), nbds).ok();
      Peers.run(cmd(List.of("qemu-io"), cmd(qemuTls(certs, s), List.of("-c",
          "write -P 0x42 4k 4k", "-c", "read -P 0x42 4k 4k")))).ok();
      System.arraycopy(new byte[4096], 0, data, 4096, 4096);
      java.util.Arrays.fill(data, 4096, 8192, (byte) 0x42);
      Path back = dir.resolve("back.raw");
      Peers.run(cmd(List.of("qemu-img", "convert", "-O", "raw"),
          cmd(qemuTls(certs, s), List.of(back.toString())))).ok();
      assertArrayEquals(data, Files.readAllBytes(back));
      String info = Peers.run("nbdinfo", nbds).ok().stdout();
      assertTrue(info.contains("with TLS"), info);
      Peers.Result plain = Peers.run("nbdinfo", s.uri());
      assertNotEquals(0, plain.exitCode(), "plain NBD to a TLS-only server");
      try (BlockDevice d = BlockRegistry.load().open("nbds://127.0.0.1:" + s.port()
          + "/disk?tls-certificates=" + certs, OpenParams.readOnlyDefaults().withFormat("raw"))) {
        ByteBuffer b = ByteBuffer.allocate(data.length);
        d.read(0, b);
        assertArrayEquals(data, b.array(), "blockkit's client over TLS");
      }
    }
  }

  @Test
  void clientCertificatesWhenRequired() throws Exception {
    Peers.require("qemu-img", "nbdinfo");
    SSLContext tls = server(true);
    try (Served s = Served.memory(1 << 20, "disk", b -> b.tls(tls, true))) {
      Peers.run(cmd(List.of("qemu-img", "info"), qemuTls(certs, s))).ok();
      String without = "nbds://127.0.0.1:" + s.port() + "/disk?tls-certificates="
          + TestCerts.caOnly();
      assertNotEquals(0, Peers.run("nbdinfo", without).exitCode(),
          "a client without a certificate got in");
      BlockException e = assertThrows(BlockException.class, () -> BlockRegistry.load()
          .open(without, OpenParams.readOnlyDefaults().withFormat("raw")));
      assertTrue(e.getMessage().contains("nbds://127.0.0.1:" + s.port()), e.getMessage());
      assertTrue(!e.getMessage().contains("Exception"), e.getMessage());
      assertTrue(e.getMessage().contains("certificate"), e.getMessage());
      Peers.run("nbdinfo", "--size", "nbds://127.0.0.1:" + s.port() + "/disk?tls-certificates="
          + certs).ok();
    }
  }
}
