package io.blockkit.http;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * nginx, the reference HTTP peer, serving a folder on a free loopback port, with or without TLS
 * (a self-signed certificate for localhost and 127.0.0.1 made with openssl). When nginx or openssl
 * is missing the calling test is skipped with a message, except under {@code CI=true}, where it
 * fails ({@code .ci/run} installs both).
 */
final class Nginx implements Closeable {
  private final Path dir;
  private final Process process;
  private final int port;
  private final boolean tls;

  private Nginx(Path dir, Process process, int port, boolean tls) {
    this.dir = dir;
    this.process = process;
    this.port = port;
    this.tls = tls;
  }

  /** Skips (under CI fails) the test unless every tool is on the PATH. */
  static void require(String... tools) {
    for (String tool : tools) {
      if (which(tool) == null) {
        String message = tool + " is not installed: the HTTP tests run against nginx"
            + " (apt-get install nginx-light openssl)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
          fail(message + " and CI=true");
        }
        System.out.println("SKIPPED: " + message);
        Assumptions.abort(message);
      }
    }
  }

  static Path which(String tool) {
    for (String d : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return Path.of(d, tool);
      }
    }
    String path = System.getenv("PATH");
    for (String d : path == null ? new String[0] : path.split(File.pathSeparator)) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
        return Path.of(d, tool);
      }
    }
    return null;
  }

  /** Starts nginx serving {@link #root()} (empty at first), over TLS when {@code tls}. */
  static Nginx start(boolean tls) throws IOException {
    require(tls ? new String[] {"nginx", "openssl"} : new String[] {"nginx"});
    Path dir = Files.createTempDirectory("blockkit-nginx");
    Path www = Files.createDirectory(dir.resolve("www"));
    // nginx's workers may run as another user: let them read the served folder.
    for (Path p : new Path[] {dir, www}) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    if (tls) {
      certificate(dir);
    }
    IOException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      int port = freePort();
      Files.writeString(dir.resolve("nginx.conf"), config(dir, port, tls));
      Process p = new ProcessBuilder(which("nginx").toString(), "-e", dir.resolve("error.log")
          .toString(), "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString())
          .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
      if (awaitPort(p, port)) {
        return new Nginx(dir, p, port, tls);
      }
      p.destroyForcibly();
      last = new IOException("nginx did not start on port " + port + ": "
          + read(dir.resolve("error.log")) + read(dir.resolve("stdout.log")));
    }
    throw last;
  }

  private static String config(Path dir, int port, boolean tls) {
    String d = dir.toString();
    StringBuilder c = new StringBuilder();
    c.append("daemon off;\nworker_processes 2;\npid ").append(d).append("/nginx.pid;\n")
        .append("error_log ").append(d).append("/error.log warn;\n")
        .append("events { worker_connections 256; }\nhttp {\n  access_log off;\n");
    for (String t : new String[] {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      c.append("  ").append(t).append("_temp_path ").append(d).append("/tmp-").append(t)
          .append(";\n");
    }
    c.append("  default_type application/octet-stream;\n  server {\n    listen 127.0.0.1:")
        .append(port).append(tls ? " ssl" : "").append(";\n");
    if (tls) {
      // a second address the certificate does not name, for the wrong-host test
      c.append("    listen 127.0.0.2:").append(port).append(" ssl;\n");
    }
    c.append("    root ").append(d)
        .append("/www;\n");
    if (tls) {
      c.append("    ssl_certificate ").append(d).append("/cert.pem;\n")
          .append("    ssl_certificate_key ").append(d).append("/key.pem;\n");
    }
    c.append("  }\n}\n");
    return c.toString();
  }

  /** A self-signed certificate for localhost and 127.0.0.1, and a PKCS#12 trust store of it. */
  private static void certificate(Path dir) throws IOException {
    run(dir, which("openssl").toString(), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    run(dir, keytool.toString(), "-importcert", "-noprompt", "-alias", "test", "-file",
        "cert.pem", "-keystore", "trust.p12", "-storetype", "PKCS12", "-storepass", "changeit");
    Files.setPosixFilePermissions(dir.resolve("key.pem"),
        PosixFilePermissions.fromString("rw-r--r--"));
  }

  private static void run(Path dir, String... command) throws IOException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (p.waitFor() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static boolean awaitPort(Process p, int port) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && p.isAlive()) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return true;
      } catch (IOException e) {
        try {
          Thread.sleep(20);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return false;
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** The folder nginx serves. */
  Path root() {
    return dir.resolve("www");
  }

  /** Puts {@code bytes} at {@code name} under the served folder (readable by nginx's workers). */
  void put(String name, byte[] bytes) throws IOException {
    Path f = root().resolve(name);
    Files.createDirectories(f.getParent());
    Files.write(f, bytes);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
  }

  /** {@code http://127.0.0.1:PORT/name} (https with TLS). */
  String url(String name) {
    return (tls ? "https" : "http") + "://127.0.0.1:" + port + "/" + name;
  }

  /** With TLS: a PKCS#12 trust store (password changeit) holding the server's certificate. */
  Path trustStore() {
    return dir.resolve("trust.p12");
  }

  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
