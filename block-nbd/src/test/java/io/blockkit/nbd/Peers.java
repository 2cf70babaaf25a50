package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real NBD peers (qemu-img, qemu-io, qemu-nbd from qemu-utils; nbdkit; nbdinfo and nbdcopy
 * from libnbd-bin), run as child processes. A test needing a missing tool is skipped with a
 * visible message, except under {@code CI=true}, where it fails.
 */
public final class Peers {
  private Peers() {}

  /** One finished process. */
  public record Result(int exitCode, String stdout, String stderr, List<String> command) {
    public Result expect(int code) {
      if (exitCode != code) {
        fail(String.join(" ", command) + " exited " + exitCode + " (expected " + code + ")\n"
            + stdout + stderr);
      }
      return this;
    }

    public Result ok() {
      return expect(0);
    }
  }

  public static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (Files.isExecutable(Path.of(dir, tool))) {
          return true;
        }
      }
    }
    return false;
  }

  /** Skips (or under CI fails) the current test unless every tool is on the PATH. */
  public static void require(String... tools) {
    for (String tool : tools) {
      if (!onPath(tool)) {
        String message = tool + " is not on the PATH: NBD interop tests need qemu-utils, nbdkit "
            + "and libnbd-bin (apt-get install qemu-utils nbdkit libnbd-bin)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
          fail(message + " and CI=true");
        }
        System.out.println("SKIPPED: " + message);
        Assumptions.abort(message);
      }
    }
  }

  /** Runs a command to completion (at most 120 s). */
  public static Result run(String... command) throws IOException {
    return run(List.of(command));
  }

  public static Result run(List<String> command) throws IOException {
    require(command.get(0));
    Path out = Files.createTempFile("peer-out", ".txt");
    Path err = Files.createTempFile("peer-err", ".txt");
    try {
      Process p = new ProcessBuilder(command).redirectOutput(out.toFile())
          .redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(
              new File("/dev/null"))).start();
      try {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          fail(String.join(" ", command) + " did not finish in 120 s");
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8), command);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** A server process started by a test; closing it kills it. */
  public static final class Server implements AutoCloseable {
    public final Process process;
    final Path log;

    Server(Process process, Path log) {
      this.process = process;
      this.log = log;
    }

    public String log() {
      try {
        return Files.readString(log);
      } catch (IOException e) {
        return "";
      }
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(log);
    }
  }

  /** Something that is true once a server is ready. */
  private interface Probe {
    boolean ready();
  }

  /**
   * Starts a server (qemu-nbd, nbdkit) and waits until {@code socket} accepts connections (a
   * connect that the server then sees as a client that left: start servers with {@code -t}).
   */
  public static Server startOnSocket(Path socket, List<String> command) throws Exception {
    return startAndWait(command, "listen on " + socket, () -> {
      if (!Files.exists(socket)) {
        return false;
      }
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(socket));
        return true;
      } catch (IOException e) {
        return false;
      }
    });
  }

  /** Starts a server on a TCP port of 127.0.0.1 and waits until it accepts connections. */
  public static Server startOnPort(int port, List<String> command) throws Exception {
    return startAndWait(command, "listen on port " + port, () -> {
      try (Socket ch = new Socket()) {
        ch.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return true;
      } catch (IOException e) {
        return false;
      }
    });
  }

  private static Server startAndWait(List<String> command, String what, Probe probe)
      throws Exception {
    Server s = start(command);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (!s.process.isAlive()) {
        String log = s.log();
        s.close();
        fail(String.join(" ", command) + " ended: " + log);
      }
      if (probe.ready()) {
        return s;
      }
      Thread.sleep(20);
    }
    s.close();
    fail(String.join(" ", command) + " did not " + what);
    return null;
  }

  private static Server start(List<String> command) throws IOException {
    require(command.get(0));
    Path log = Files.createTempFile("peer-server", ".log");
    Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    return new Server(p, log);
  }

  /** A TCP port nobody listens on right now. */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
