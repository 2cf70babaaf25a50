package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.nbd.protocol.Endpoint;
import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.Tls;
import io.blockkit.nbd.server.NbdServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code serve}: exports an image over NBD with qemu-nbd's flags, through the {@link NbdServer}
 * library. Prints nothing on success; writes the pid file once listening; stops when the last
 * client leaves (unless {@code -t}) or on SIGTERM, SIGINT or SIGHUP, finishing the requests in
 * flight and flushing and closing the image before it exits with 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Export an image over NBD (qemu-nbd's flags); stops when the last client "
        + "leaves unless -t.")
final class ServeCommand extends ImageCommand {
  @Option(names = {"-r", "--read-only"}, description = "Export read-only.")
  boolean readOnly;

  @Option(names = {"-x", "--export-name"}, paramLabel = "NAME", defaultValue = "",
      description = "Export name (default: empty, the default export).")
  String exportName;

  @Option(names = {"-D", "--description"}, paramLabel = "TEXT", description = "Export description.")
  String description;

  @Option(names = {"-b", "--bind"}, paramLabel = "ADDR", description = "Address to listen on (default 0.0.0.0).")
  String bind;

  @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "TCP port (default 10809).")
  Integer port;

  @Option(names = {"-k", "--socket"}, paramLabel = "PATH", description = "Listen on a Unix socket instead of TCP.")
  Path socket;

  @Option(names = {"-e", "--shared"}, paramLabel = "NUM", defaultValue = "1",
      description = "Clients served at once (default 1; 0 = no limit); above 1, multi-conn is offered.")
  int shared;

  @Option(names = {"-t", "--persistent"}, description = "Keep serving after the last client leaves.")
  boolean persistent;

  @Option(names = "--pid-file", paramLabel = "FILE", description = "Write the process id here once listening.")
  Path pidFile;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "Require TLS: the server's PEM certificate (chain).")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "The certificate's PEM private key.")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "Require client certificates signed by this PEM CA certificate.")
  Path tlsCa;

  @Option(names = {"-v", "--verbose"}, description = "Print connections and protocol errors on stderr.")
  boolean verbose;

  @Parameters(paramLabel = "FILE", description = "The image: a path or PROTOCOL:NAME.")
  String file;

  @Override
  public Integer call() throws Exception {
    Endpoint where = endpoint();
    SSLContext tls = tls();
    if (shared < 0) {
      throw new CliException(1, "-e/--shared must be 0 (no limit) or more, not " + shared);
    }
    Stopper stopper = null;
    try (BlockDevice device = env.open(file, imageOpts, format, readOnly, false)) {
      NbdServer.Builder b = NbdServer.builder(device).exportName(exportName)
          .description(description).readOnly(readOnly).listen(where).maxConnections(shared)
          .persistent(persistent).events(verbose ? env::warn : e -> { });
      if (tls != null) {
        b.tls(tls, tlsCa != null);
      }
      NbdServer server = b.start();
      stopper = Stopper.install(server);
      try {
        if (pidFile != null) {
          writePidFile();
        }
        server.awaitTermination();
      } finally {
        if (pidFile != null) {
          Files.deleteIfExists(pidFile);
        }
      }
      device.flush();
    } finally {
      if (stopper != null) {
        stopper.remove();
        stopper.closed(); // the image is closed: a fallback hook may let the JVM exit now
      }
    }
    return 0;
  }

  private Endpoint endpoint() {
    if (socket != null) {
      if (port != null || bind != null) {
        throw new CliException(1, "-k/--socket cannot be combined with -p/--port or -b/--bind");
      }
      return Endpoint.unix(socket);
    }
    int p = port == null ? Nbd.DEFAULT_PORT : port;
    if (p < 0 || p > 65535) {
      throw new CliException(1, "-p/--port must be between 0 and 65535, not " + p);
    }
    return Endpoint.tcp(bind == null ? "0.0.0.0" : bind, p);
  }

  private SSLContext tls() throws IOException {
    if (tlsCert == null && tlsKey == null) {
      if (tlsCa != null) {
        throw new CliException(1, "--tls-ca needs --tls-cert and --tls-key");
      }
      return null;
    }
    if (tlsCert == null || tlsKey == null) {
      throw new CliException(1, "TLS needs both --tls-cert and --tls-key");
    }
    return Tls.serverContext(tlsCert, tlsKey, tlsCa);
  }

  /** The pid, written whole under a temporary name and renamed, so readers never see half. */
  private void writePidFile() throws IOException {
    Path abs = pidFile.toAbsolutePath();
    Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
    Files.writeString(tmp, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
    Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Turns SIGTERM, SIGINT and SIGHUP into a graceful stop: the JDK's signal API, so the command
   * finishes normally and exits with 0 (as qemu-nbd does). Where that API is unavailable, a
   * shutdown hook stops the server and waits until the image is flushed and closed.
   */
  private static final class Stopper {
    private static final List<String> SIGNALS = List.of("TERM", "INT", "HUP");
    private final List<Runnable> undo = new ArrayList<>();
    private final CountDownLatch closed = new CountDownLatch(1);

    static Stopper install(NbdServer server) {
      Stopper s = new Stopper();
      try {
        for (String name : SIGNALS) {
          sun.misc.Signal sig = new sun.misc.Signal(name);
          sun.misc.SignalHandler old = sun.misc.Signal.handle(sig, x -> server.shutdown());
          s.undo.add(() -> sun.misc.Signal.handle(sig, old));
        }
      } catch (LinkageError | IllegalArgumentException e) {
        s.remove();
        Thread hook = new Thread(() -> {
          server.shutdown();
          try {
            s.closed.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
          }
        }, "blockkit-serve-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        s.undo.add(() -> {
          try {
            Runtime.getRuntime().removeShutdownHook(hook);
          } catch (IllegalStateException x) {
            // the JVM is exiting through the hook
          }
        });
      }
      return s;
    }

    void remove() {
      undo.forEach(Runnable::run);
      undo.clear();
    }

    void closed() {
      closed.countDown();
    }
  }
}
