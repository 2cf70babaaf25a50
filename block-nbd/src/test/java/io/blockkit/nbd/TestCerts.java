package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority with a server and a client certificate, made with the
 * JDK's keytool when a test first needs it and laid out as qemu, nbdkit and libnbd expect: a
 * folder with {@code ca-cert.pem}, {@code server-cert.pem}, {@code server-key.pem}, {@code
 * client-cert.pem} and {@code client-key.pem} (keys as unencrypted PKCS#8). The server
 * certificate names {@code localhost} and {@code 127.0.0.1}. Keys are EC (P-256): made in a
 * fraction of the time RSA keys take.
 */
public final class TestCerts {
  private static final String PASS = "blockkit";
  private static Path dir;

  private TestCerts() {}

  /** The folder (made once per test JVM, deleted at exit). */
  public static synchronized Path dir() throws IOException, InterruptedException {
    if (dir == null) {
      Path d = Files.createTempDirectory("blockkit-tls-");
      make(d);
      dir = d;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try (var s = Files.walk(d)) {
          s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
          // temporary files only
        }
      }));
    }
    return dir;
  }

  /** A folder holding only the CA certificate (a client without a certificate of its own). */
  public static Path caOnly() throws IOException, InterruptedException {
    Path d = dir().resolve("ca-only");
    if (!Files.isDirectory(d)) {
      Files.createDirectories(d);
      Files.copy(dir().resolve("ca-cert.pem"), d.resolve("ca-cert.pem"));
    }
    return d;
  }

  private static void make(Path d) throws IOException, InterruptedException {
    keytool(d, "-genkeypair", "-keystore", "ca.p12", "-alias", "ca", "-dname",
        "CN=blockkit test CA", "-ext", "bc:c=ca:true", "-ext", "ku:c=keyCertSign,cRLSign");
    keytool(d, "-exportcert", "-rfc", "-keystore", "ca.p12", "-alias", "ca", "-file",
        "ca-cert.pem");
    for (String who : List.of("server", "client")) {
      keytool(d, "-genkeypair", "-keystore", who + ".p12", "-alias", who, "-dname",
          "CN=" + (who.equals("server") ? "localhost" : "blockkit test client"));
      keytool(d, "-certreq", "-keystore", who + ".p12", "-alias", who, "-file", who + ".csr");
      List<String> sign = new ArrayList<>(List.of("-gencert", "-rfc", "-keystore", "ca.p12",
          "-alias", "ca", "-infile", who + ".csr", "-outfile", who + "-cert.pem",
          "-ext", "ku:c=digitalSignature,keyEncipherment", "-ext",
          "eku=" + (who.equals("server") ? "serverAuth" : "clientAuth")));
      if (who.equals("server")) {
        sign.addAll(List.of("-ext", "san=dns:localhost,ip:127.0.0.1"));
      }
      keytool(d, sign.toArray(new String[0]));
      writeKey(d.resolve(who + ".p12"), who, d.resolve(who + "-key.pem"));
    }
  }

  private static void keytool(Path d, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", PASS, "-noprompt"));
    if (args[0].equals("-genkeypair") || args[0].equals("-gencert")) {
      cmd.addAll(List.of("-validity", "3", "-startdate", "-1d"));
    }
    if (args[0].equals("-genkeypair")) {
      cmd.addAll(List.of("-keyalg", "EC", "-groupname", "secp256r1"));
    }
    Process p = new ProcessBuilder(cmd).directory(d.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + ": " + out);
  }

  private static void writeKey(Path store, String alias, Path pem) throws IOException {
    try (InputStream in = Files.newInputStream(store)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, PASS.toCharArray());
      ECPrivateKey key = (ECPrivateKey) ks.getKey(alias, PASS.toCharArray());
      ECPublicKey pub = (ECPublicKey) ks.getCertificate(alias).getPublicKey();
      String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(pkcs8(key, pub));
      Files.writeString(pem, "-----BEGIN PRIVATE KEY-----\n" + b64
          + "\n-----END PRIVATE KEY-----\n");
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
  }

  /**
   * PKCS#8 of a P-256 key with the public key inside (GnuTLS will not load the JDK's own
   * encoding, which leaves that optional field out): version 0, id-ecPublicKey with
   * prime256v1, and the ECPrivateKey {1, the scalar, [1] the point}.
   */
  private static byte[] pkcs8(ECPrivateKey key, ECPublicKey pub) {
    ByteBuffer b = ByteBuffer.allocate(138);
    b.put(new byte[] {0x30, (byte) 0x81, (byte) 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07,
        0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, (byte) 0x86,
        0x48, (byte) 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01,
        0x04, 0x20});
    b.put(fixed(key.getS(), 32));
    b.put(new byte[] {(byte) 0xa1, 0x44, 0x03, 0x42, 0x00, 0x04});
    b.put(fixed(pub.getW().getAffineX(), 32)).put(fixed(pub.getW().getAffineY(), 32));
    return java.util.Arrays.copyOf(b.array(), b.position());
  }

  private static byte[] fixed(BigInteger v, int n) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[n];
    int copy = Math.min(raw.length, n);
    System.arraycopy(raw, raw.length - copy, out, n - copy, copy);
    return out;
  }
}
