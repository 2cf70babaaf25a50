package io.blockkit.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.error.BlockException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * https trusts exactly what the JVM trusts: nginx's self-signed certificate is refused with a
 * message that says so and how to trust it, and accepted by a JVM given the standard trust-store
 * properties through {@code JAVA_TOOL_OPTIONS}, as a user of the command-line tool would.
 */
class TlsTest {
  private static Nginx nginx;

  @BeforeAll
  static void startNginx() throws IOException {
    nginx = Nginx.start(true);
    nginx.put("disk.img", new byte[3 * 512]);
  }

  @AfterAll
  static void stopNginx() throws IOException {
    if (nginx != null) {
      nginx.close();
    }
  }

  private static String expectedRefusal(String url) {
    return "Could not access '" + url + "': the TLS certificate of "
        + url.substring(8, url.indexOf('/', 8)) + " is not trusted (no trusted certificate"
        + " authority signed it). blockkit trusts what the JVM trusts: add the authority to a"
        + " trust store and name it with -Djavax.net.ssl.trustStore=FILE, for example in"
        + " JAVA_TOOL_OPTIONS";
  }

  @Test
  void anUntrustedCertificateIsRefusedWithAMessageSayingSo() {
    String url = nginx.url("disk.img");
    BlockException e = assertThrows(BlockException.class, () -> BlockRegistry.load().open(url,
        OpenParams.readOnlyDefaults().withWarnings(w -> { })));
    assertEquals(expectedRefusal(url), e.getMessage());
  }

  @Test
  void theStandardTrustStorePropertiesInJavaToolOptionsAreHonoured() throws Exception {
    String url = nginx.url("disk.img");
    assertEquals("format raw, 1536 bytes", child(url, "-Djavax.net.ssl.trustStore="
        + nginx.trustStore() + " -Djavax.net.ssl.trustStorePassword=changeit"));
    assertEquals("error: " + expectedRefusal(url), child(url, ""));
  }

  @Test
  void aCertificateForAnotherNameIsRefused() throws Exception {
    String url = nginx.url("disk.img").replace("127.0.0.1", "127.0.0.2");
    assertEquals("error: Could not access '" + url + "': the TLS certificate of "
        + url.substring(8, url.indexOf('/', 8)) + " is for another host name",
        child(url, "-Djavax.net.ssl.trustStore=" + nginx.trustStore()
            + " -Djavax.net.ssl.trustStorePassword=changeit"));
  }

  /** Runs {@link InfoMain} in a child JVM with {@code JAVA_TOOL_OPTIONS}; its last line. */
  private static String child(String url, String toolOptions) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin",
        "java").toString(), "-cp", System.getProperty("java.class.path"),
        InfoMain.class.getName(), url));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("JAVA_TOOL_OPTIONS", toolOptions);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the child JVM did not finish: " + out);
    }
    String[] lines = out.strip().split("\n");
    return lines[lines.length - 1].strip();
  }
}
