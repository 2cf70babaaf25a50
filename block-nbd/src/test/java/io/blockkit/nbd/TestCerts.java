package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority with a server and a client certificate, made with the
 * JDK's keytool when a test first needs it and laid out as qemu, nbdkit and libnbd expect: a
 * folder with {@code ca-cert.pem}, {@code server-cert.pem}, {@code server-key.pem}, {@code
 * client-cert.pem} and {@code client-key.pem} (keys as unencrypted PKCS#8). The server
 * certificate names {@code localhost} and {@code 127.0.0.1}. A second, unrelated authority
 * ({@code other-ca-cert.pem}) signs nothing we use, for tests that must fail verification.
 */
final class TestCerts {
  private static final String PASS = "blockkit";
  private static Path dir;

  private TestCerts() {}

  /** The folder (made once per test JVM, deleted at exit). */
  static synchronized Path dir() throws IOException, InterruptedException {
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
  static Path caOnly() throws IOException, InterruptedException {
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
    keytool(d, "-genkeypair", "-keystore", "other.p12", "-alias", "other", "-dname",
        "CN=another CA", "-ext", "bc:c=ca:true", "-ext", "ku:c=keyCertSign,cRLSign");
    keytool(d, "-exportcert", "-rfc", "-keystore", "ca.p12", "-alias", "ca", "-file",
        "ca-cert.pem");
    keytool(d, "-exportcert", "-rfc", "-keystore", "other.p12", "-alias", "other", "-file",
        "other-ca-cert.pem");
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
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", PASS, "-noprompt"));
    if (args[0].equals("-genkeypair") || args[0].equals("-gencert")) {
      cmd.addAll(List.of("-validity", "3", "-startdate", "-1d"));
    }
    if (args[0].equals("-genkeypair")) {
      cmd.addAll(List.of("-keyalg", "RSA", "-keysize", "2048"));
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
      Key key = ks.getKey(alias, PASS.toCharArray());
      String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(key.getEncoded());
      Files.writeString(pem, "-----BEGIN PRIVATE KEY-----\n" + b64
          + "\n-----END PRIVATE KEY-----\n");
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
  }
}
