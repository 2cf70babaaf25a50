package io.blockkit.nbd.server;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.nbd.protocol.Endpoint;
import io.blockkit.nbd.protocol.Nbd;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/**
 * An NBD server exporting one open {@link BlockDevice} to any number of clients (fixed newstyle,
 * structured replies, block status, TLS); see the package documentation for what it offers.
 *
 * <pre>{@code
 * try (BlockDevice disk = registry.open("disk.vdi", OpenParams.defaults());
 *      NbdServer server = NbdServer.builder(disk).listen(Endpoint.tcp("", 10809))
 *          .exportName("disk").maxConnections(4).persistent(true).start()) {
 *   server.awaitTermination();
 * }
 * }</pre>
 *
 * <p>The server never closes the device (its owner does, after {@link #close()}); it flushes it
 * when it stops. Thread-safe.
 */
public final class NbdServer implements Closeable {
  private static final int BACKLOG = 64;

  private final Export export;
  private final SSLContext tls;
  private final boolean requireClientCertificate;
  private final boolean persistent;
  private final long handshakeLimitMillis;
  private final Consumer<String> events;
  private final Semaphore slots;
  private final ServerSocketChannel listener;
  private final Endpoint address;
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService timer;
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final AtomicInteger served = new AtomicInteger();
  private final Object lifecycle = new Object();
  private volatile boolean shuttingDown;
  private volatile IOException flushFailure;
  private final Thread acceptor;

  private NbdServer(Builder b) throws IOException {
    this.export = new Export(b.device, b.exportName, b.description, b.readOnly,
        b.maxConnections != 1);
    this.tls = b.tls;
    this.requireClientCertificate = b.requireClientCertificate;
    this.persistent = b.persistent;
    this.handshakeLimitMillis = b.handshakeLimit.toMillis();
    this.events = b.events;
    this.slots = b.maxConnections > 0 ? new Semaphore(b.maxConnections) : null;
    if (b.endpoint.isUnix()) {
      removeStaleSocket(b.endpoint);
    }
    try {
      this.listener = b.endpoint.listen(BACKLOG);
    } catch (IOException e) {
      throw new BlockException("Cannot listen on " + b.endpoint + ": " + e.getMessage(), e);
    }
    if (b.endpoint.isUnix()) {
      this.address = b.endpoint;
    } else {
      InetSocketAddress bound = (InetSocketAddress) listener.getLocalAddress();
      this.address = Endpoint.tcp(b.endpoint.host(), bound.getPort());
    }
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "nbd-timer"));
    t.setRemoveOnCancelPolicy(true);
    this.timer = t;
    this.acceptor = daemon(this::acceptLoop, "nbd-accept " + address);
    acceptor.start();
  }

  /** A builder for a server exporting {@code device}. */
  public static Builder builder(BlockDevice device) {
    return new Builder(device);
  }

  /** Where the server listens (the actual port when 0 was asked for). */
  public Endpoint address() {
    return address;
  }

  /** Clients connected now (in the handshake or transmitting). */
  public int connections() {
    return connections.size();
  }

  /**
   * Waits until the server has stopped: after {@link #close()}, or, when not persistent, once
   * the last client has left.
   *
   * @throws IOException when the final flush of the device failed
   * @throws InterruptedException when this thread is interrupted while waiting
   */
  public void awaitTermination() throws InterruptedException, IOException {
    terminated.await();
    if (flushFailure != null) {
      throw flushFailure;
    }
  }

  /**
   * As {@link #awaitTermination()}, giving up after the timeout; true when it stopped.
   *
   * @throws InterruptedException when this thread is interrupted while waiting
   */
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    return terminated.await(timeout, unit);
  }

  /** True once the server stopped or is stopping. */
  public boolean isShuttingDown() {
    return shuttingDown;
  }

  /**
   * Stops without waiting: no new clients; clients in the handshake are cut off; connected
   * clients' requests already received are finished and answered, then their connections close;
   * then the device is flushed. {@link #awaitTermination()} tells when it is done.
   */
  public void shutdown() {
    synchronized (lifecycle) {
      if (shuttingDown) {
        return;
      }
      shuttingDown = true;
    }
    try {
      listener.close();
    } catch (IOException e) {
      // the acceptor ends either way
    }
    acceptor.interrupt();
    daemon(this::finish, "nbd-shutdown").start();
  }

  /** {@link #shutdown()} and waits for it to finish. */
  @Override
  public void close() throws IOException {
    shutdown();
    try {
      awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while stopping the NBD server");
    }
  }

  private void finish() {
    try {
      for (Connection c : connections) {
        c.stop();
      }
      // Requests in flight get the time a connection's drain allows; then sockets are closed.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      boolean aborted = false;
      synchronized (connections) {
        while (!connections.isEmpty()) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            if (aborted) {
              break;
            }
            connections.forEach(Connection::abort);
            aborted = true;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            continue;
          }
          connections.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
      }
      if (!export.readOnly) {
        export.device.flush();
      }
    } catch (IOException e) {
      flushFailure = e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      timer.shutdownNow();
      if (address.isUnix()) {
        try {
          Files.deleteIfExists(address.socket());
        } catch (IOException e) {
          // a socket file left behind is removed by the next server on that path
        }
      }
      terminated.countDown();
    }
  }

  private void acceptLoop() {
    try {
      while (!shuttingDown) {
        if (slots != null) {
          slots.acquire();
        }
        SocketChannel ch;
        try {
          ch = listener.accept();
        } catch (IOException e) {
          if (slots != null) {
            slots.release();
          }
          if (e instanceof AsynchronousCloseException || shuttingDown) {
            return;
          }
          event("accept failed: " + e.getMessage());
          continue;
        }
        noDelay(ch);
        String peer = peerName(ch, served.incrementAndGet());
        Connection c = new Connection(this, ch, peer);
        connections.add(c);
        if (shuttingDown) {
          c.stop();
        }
        daemon(c, "nbd-connection " + peer).start();
      }
    } catch (InterruptedException e) {
      // shutdown
    }
  }

  void connectionEnded(Connection c) {
    boolean last;
    synchronized (connections) {
      connections.remove(c);
      last = connections.isEmpty();
      connections.notifyAll();
    }
    if (slots != null) {
      slots.release();
    }
    if (last && !persistent) {
      shutdown();
    }
  }

  /**
   * Replies go out as a header and then the payload: without TCP_NODELAY, Nagle's algorithm holds
   * the payload until the client's delayed ACK of the header, about 40 ms per request.
   */
  private static void noDelay(SocketChannel ch) {
    if (ch.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
      try {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      } catch (IOException e) {
        // a connection that cannot take it is served as it is, only slower
      }
    }
  }

  private static String peerName(SocketChannel ch, int n) {
    try {
      Object remote = ch.getRemoteAddress();
      return remote instanceof InetSocketAddress ? remote.toString() : "client " + n;
    } catch (IOException e) {
      return "client " + n;
    }
  }

  /** Only a socket may be replaced: qemu-nbd removes a stale one the same way. */
  private static void removeStaleSocket(Endpoint e) throws IOException {
    try {
      BasicFileAttributes a = Files.readAttributes(e.socket(), BasicFileAttributes.class,
          LinkOption.NOFOLLOW_LINKS);
      if (a.isOther()) {
        Files.delete(e.socket());
      }
    } catch (java.nio.file.NoSuchFileException ignored) {
      // nothing to remove
    }
  }

  Export export() {
    return export;
  }

  SSLContext tls() {
    return tls;
  }

  boolean requireClientCertificate() {
    return requireClientCertificate;
  }

  long handshakeLimitMillis() {
    return handshakeLimitMillis;
  }

  ScheduledExecutorService timer() {
    return timer;
  }

  void event(String what) {
    events.accept(what);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Settings of a server; {@link #start()} binds and begins accepting. */
  public static final class Builder {
    private final BlockDevice device;
    private String exportName = "";
    private String description;
    private boolean readOnly;
    private Endpoint endpoint = Endpoint.tcp("", Nbd.DEFAULT_PORT);
    private SSLContext tls;
    private boolean requireClientCertificate;
    private int maxConnections = 1;
    private boolean persistent = true;
    private Duration handshakeLimit = Duration.ofSeconds(10);
    private Consumer<String> events = e -> { };

    private Builder(BlockDevice device) {
      this.device = Objects.requireNonNull(device, "device");
    }

    /** The export's name (default empty: the default export). At most 4096 bytes of UTF-8. */
    public Builder exportName(String name) {
      if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > Nbd.MAX_STRING
          || name.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("export name longer than 4096 bytes or with NUL");
      }
      this.exportName = name;
      return this;
    }

    /** A description clients see in LIST and INFO (default none). */
    public Builder description(String text) {
      this.description = text;
      return this;
    }

    /** Refuse writes even if the device is writable (a read-only device always is). */
    public Builder readOnly(boolean ro) {
      this.readOnly = ro;
      return this;
    }

    /** Where to listen (default: every address, port 10809). Port 0 picks a free port. */
    public Builder listen(Endpoint where) {
      this.endpoint = Objects.requireNonNull(where, "where");
      return this;
    }

    /**
     * Require TLS (clients must STARTTLS before anything else).
     *
     * @param requireClientCertificate clients must present a certificate the context trusts
     */
    public Builder tls(SSLContext context, boolean requireClientCertificate) {
      this.tls = Objects.requireNonNull(context, "context");
      this.requireClientCertificate = requireClientCertificate;
      return this;
    }

    /**
     * Clients served at once (default 1, as qemu-nbd; 0 = no limit). Further clients wait in
     * the listen queue. Above 1, multi-conn is advertised.
     */
    public Builder maxConnections(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("negative connection limit " + n);
      }
      this.maxConnections = n;
      return this;
    }

    /** Keep serving after the last client leaves (default true; false = qemu-nbd without -t). */
    public Builder persistent(boolean p) {
      this.persistent = p;
      return this;
    }

    /** How long a client may take to finish the handshake (default 10 s, as qemu-nbd). */
    public Builder handshakeLimit(Duration limit) {
      this.handshakeLimit = Objects.requireNonNull(limit, "limit");
      return this;
    }

    /** Receives one line per connection event (connect, disconnect, protocol violation). */
    public Builder events(Consumer<String> sink) {
      this.events = Objects.requireNonNull(sink, "sink");
      return this;
    }

    /**
     * Binds and starts accepting clients.
     *
     * @throws IOException when the address cannot be bound
     */
    public NbdServer start() throws IOException {
      return new NbdServer(this);
    }
  }
}
