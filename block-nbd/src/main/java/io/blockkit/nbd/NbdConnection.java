package io.blockkit.nbd;

import io.blockkit.api.error.BlockException;
import io.blockkit.nbd.ClientHandshake.Offer;
import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.Transport;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;

/**
 * One connection to an NBD server in the transmission phase. Requests from any number of threads
 * are pipelined: each is registered under a fresh cookie and sent whole; a reader thread matches
 * replies to cookies and fills in reads directly into the caller's buffer. Every wait has a
 * timeout; a timeout, a broken reply or a closed connection fails the connection, and every
 * request in flight and later fails with the same one-line message.
 */
final class NbdConnection implements Closeable {
  private static final ScheduledExecutorService TIMER = timer();
  private static final int MAX_STATUS_KEPT = 4096;
  private static final long MAX_STATUS_CHUNK = 4 + 8L * Nbd.MAX_EXTENTS;
  private static final byte[] ZEROS = new byte[64 << 10];

  private final NbdUri uri;
  final Offer offer;
  private final Transport transport;
  private final long timeoutNanos;
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private final AtomicLong cookies = new AtomicLong();
  private final Thread reader;
  private final AtomicBoolean closing = new AtomicBoolean();
  private volatile IOException broken;

  private NbdConnection(NbdUri uri, Offer offer, long timeoutNanos) {
    this.uri = uri;
    this.offer = offer;
    this.transport = offer.transport();
    this.timeoutNanos = timeoutNanos;
    this.reader = new Thread(this::readReplies, "nbd-reader " + uri);
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Connects and negotiates, all within {@code timeoutMillis}.
   *
   * @param tls the TLS context when TLS is required, else null
   * @param tlsHost the name the server's certificate must carry, or null to check none
   * @throws IOException one line naming the URI: unreachable, no such export, TLS refused,
   *     not an NBD server, timed out
   */
  static NbdConnection open(NbdUri uri, int timeoutMillis, SSLContext tls, String tlsHost)
      throws IOException {
    SocketChannel channel;
    try {
      channel = uri.endpoint().connect(timeoutMillis);
    } catch (UnknownHostException e) {
      throw new BlockException("Could not connect to NBD server " + uri + ": unknown host '"
          + uri.endpoint().host() + "'", e);
    } catch (SocketTimeoutException e) {
      throw new BlockException("Could not connect to NBD server " + uri + ": no answer within "
          + seconds(timeoutMillis), e);
    } catch (IOException e) {
      throw new BlockException("Could not connect to NBD server " + uri + ": "
          + e.getMessage(), e);
    }
    ClientHandshake hs = new ClientHandshake(Transport.plain(channel), uri, tls, tlsHost);
    AtomicBoolean late = new AtomicBoolean();
    ScheduledFuture<?> limit = TIMER.schedule(() -> {
      late.set(true);
      hs.transport().close();
    }, timeoutMillis, TimeUnit.MILLISECONDS);
    Offer offer;
    try {
      offer = hs.run();
    } catch (IOException | RuntimeException e) {
      hs.transport().close();
      if (late.get()) {
        throw new BlockException("NBD server " + uri + " did not finish the handshake within "
            + seconds(timeoutMillis), e);
      }
      throw e;
    } finally {
      limit.cancel(false);
    }
    if (late.get()) {
      hs.transport().close();
      throw new BlockException("NBD server " + uri + " did not finish the handshake within "
          + seconds(timeoutMillis));
    }
    return new NbdConnection(uri, offer, TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
  }

  /**
   * Sends a request.
   *
   * @param payload a WRITE's data, or null
   * @param target where a READ's data goes (position 0, limit = length), or null
   */
  Pending submit(int type, int flags, long offset, long length, ByteBuffer payload,
      ByteBuffer target) throws IOException {
    Pending p = new Pending(type, offset, length, target);
    long cookie = cookies.incrementAndGet();
    ensureOpen();
    pending.put(cookie, p);
    if (broken != null) {
      pending.remove(cookie);
      throw failure();
    }
    ByteBuffer h = ByteBuffer.allocate(Nbd.REQUEST_HEADER);
    h.putInt(Nbd.REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie)
        .putLong(offset).putInt((int) length).flip();
    try {
      if (payload != null) {
        transport.write(h, payload);
      } else {
        transport.write(h);
      }
    } catch (IOException e) {
      fail(new BlockException("Connection to NBD server " + uri + " failed: "
          + describe(e), e));
      throw failure();
    }
    return p;
  }

  /**
   * Waits for {@code p}'s reply.
   *
   * @throws IOException the server's error for this request, or the connection's failure
   */
  void await(Pending p) throws IOException {
    try {
      if (!p.await(timeoutNanos)) {
        fail(new BlockException("NBD server " + uri + " did not answer " + p.describe()
            + " within " + seconds(TimeUnit.NANOSECONDS.toMillis(timeoutNanos))));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted waiting for NBD server " + uri);
    }
    if (p.failure != null) {
      throw new BlockException(p.failure.getMessage(), p.failure);
    }
    if (p.error != 0) {
      throw ClientErrors.of(uri.toString(), p);
    }
  }

  /** Sends a request and waits for its reply. */
  Pending call(int type, int flags, long offset, long length, ByteBuffer payload,
      ByteBuffer target) throws IOException {
    Pending p = submit(type, flags, offset, length, payload, target);
    await(p);
    return p;
  }

  private void ensureOpen() throws IOException {
    if (broken != null) {
      throw failure();
    }
  }

  private IOException failure() {
    return new BlockException(broken.getMessage(), broken);
  }

  /**
   * Marks the connection failed: closes it, waits for the reader to stop touching callers'
   * buffers, and fails every request in flight.
   */
  private void fail(IOException why) {
    synchronized (this) {
      if (broken != null) {
        return;
      }
      broken = why;
    }
    transport.close();
    if (Thread.currentThread() != reader) {
      try {
        reader.join(TimeUnit.SECONDS.toMillis(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Pending p : pending.values()) {
      p.abort(why);
    }
    pending.clear();
  }

  /** Ends the session with DISC and closes the connection; requests in flight fail. */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    if (broken == null) {
      ByteBuffer h = ByteBuffer.allocate(Nbd.REQUEST_HEADER);
      h.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_DISC)
          .putLong(cookies.incrementAndGet()).putLong(0).putInt(0).flip();
      try {
        transport.write(h);
      } catch (IOException e) {
        // the server is gone already
      }
    }
    fail(new BlockException("Connection to NBD server " + uri + " is closed"));
  }

  // ------------------------------------------------------------------ the reader thread

  private void readReplies() {
    try {
      while (true) {
        int magic = transport.readInt();
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
          simpleReply();
        } else if (magic == Nbd.STRUCTURED_REPLY_MAGIC && offer.structured()) {
          chunk();
        } else {
          throw protocol("bad reply magic 0x" + Integer.toHexString(magic));
        }
      }
    } catch (EOFException e) {
      fail(new BlockException(closing.get() ? "Connection to NBD server " + uri + " is closed"
          : "NBD server " + uri + " closed the connection", e));
    } catch (IOException e) {
      fail(broken != null || closing.get() ? e
          : e instanceof BlockException ? e
          : new BlockException("Connection to NBD server " + uri + " failed: " + describe(e), e));
    } catch (RuntimeException e) {
      fail(new BlockException("NBD client for " + uri + " failed: " + e, e));
    }
  }

  private void simpleReply() throws IOException {
    int error = transport.readInt();
    long cookie = transport.readLong();
    Pending p = pending.remove(cookie);
    if (p == null) {
      throw protocol("a reply for cookie " + cookie + ", which is not in flight");
    }
    if (p.type == Nbd.CMD_READ && error == 0) {
      if (offer.structured()) {
        throw protocol("a simple reply with data to a read, after agreeing on structured replies");
      }
      transport.readFully(p.target.duplicate().clear().limit((int) p.length));
    }
    if (error != 0) {
      p.fail(error, null);
    }
    p.complete();
  }

  private void chunk() throws IOException {
    int flags = transport.readShort();
    int type = transport.readShort();
    long cookie = transport.readLong();
    long length = transport.readInt() & 0xffffffffL;
    Pending p = pending.get(cookie);
    if (p == null) {
      throw protocol("a reply chunk for cookie " + cookie + ", which is not in flight");
    }
    switch (type) {
      case Nbd.REPLY_TYPE_NONE -> {
        if (length != 0) {
          throw protocol("a NONE chunk with " + length + " bytes");
        }
      }
      case Nbd.REPLY_TYPE_OFFSET_DATA -> data(p, length);
      case Nbd.REPLY_TYPE_OFFSET_HOLE -> hole(p, length);
      case Nbd.REPLY_TYPE_BLOCK_STATUS -> status(p, length);
      case Nbd.REPLY_TYPE_ERROR, Nbd.REPLY_TYPE_ERROR_OFFSET -> error(p, length);
      default -> {
        if ((type & Nbd.REPLY_TYPE_FLAG_ERROR) == 0) {
          throw protocol("an unknown reply chunk type " + type);
        }
        if (length > Nbd.MAX_STRING + 64) {
          throw protocol("an error chunk of " + length + " bytes");
        }
        transport.skip(length);
        p.fail(22, "unknown error chunk type " + type);
      }
    }
    if ((flags & Nbd.REPLY_FLAG_DONE) != 0) {
      pending.remove(cookie);
      if (p.type == Nbd.CMD_READ && p.error == 0 && p.covered != p.length) {
        p.fail(5, "the reply covered " + p.covered + " of " + p.length + " bytes");
      }
      p.complete();
    }
  }

  private void data(Pending p, long length) throws IOException {
    if (p.type != Nbd.CMD_READ || length < 9) {
      throw protocol("a data chunk of " + length + " bytes for " + p.describe());
    }
    long at = transport.readLong();
    long n = length - 8;
    ByteBuffer dst = region(p, at, n, "data");
    transport.readFully(dst);
    p.covered += n;
  }

  private void hole(Pending p, long length) throws IOException {
    if (p.type != Nbd.CMD_READ || length != 12) {
      throw protocol("a hole chunk of " + length + " bytes for " + p.describe());
    }
    long at = transport.readLong();
    long n = transport.readInt() & 0xffffffffL;
    ByteBuffer dst = region(p, at, n, "hole");
    while (dst.hasRemaining()) {
      dst.put(ZEROS, 0, Math.min(ZEROS.length, dst.remaining()));
    }
    p.covered += n;
  }

  /** The part of a read's target that a chunk at {@code at} of {@code n} bytes fills. */
  private ByteBuffer region(Pending p, long at, long n, String what) throws IOException {
    if (n == 0 || at < p.offset || n > p.length || at - p.offset > p.length - n) {
      throw protocol("a " + what + " chunk at offset " + at + " of " + n
          + " bytes outside " + p.describe());
    }
    int start = (int) (at - p.offset);
    return p.target.duplicate().clear().position(start).limit(start + (int) n);
  }

  private void status(Pending p, long length) throws IOException {
    if (p.type != Nbd.CMD_BLOCK_STATUS || length < 12 || (length - 4) % 8 != 0
        || length > MAX_STATUS_CHUNK) {
      throw protocol("a block status chunk of " + length + " bytes for " + p.describe());
    }
    int context = transport.readInt();
    long count = (length - 4) / 8;
    if (context != offer.statusContext() || p.extentLengths != null) {
      transport.skip(length - 4);
      return;
    }
    int keep = (int) Math.min(count, MAX_STATUS_KEPT);
    ByteBuffer b = ByteBuffer.allocate(keep * 8);
    transport.readFully(b);
    b.flip();
    transport.skip((count - keep) * 8);
    long[] lengths = new long[keep];
    int[] flags = new int[keep];
    for (int i = 0; i < keep; i++) {
      lengths[i] = b.getInt() & 0xffffffffL;
      flags[i] = b.getInt();
      if (lengths[i] == 0) {
        throw protocol("an extent of length 0");
      }
    }
    p.extentLengths = lengths;
    p.extentFlags = flags;
    p.extents = keep;
  }

  private void error(Pending p, long length) throws IOException {
    if (length < 6 || length > Nbd.MAX_STRING + 64) {
      throw protocol("an error chunk of " + length + " bytes");
    }
    int code = transport.readInt();
    int n = transport.readShort();
    if (n > length - 6) {
      throw protocol("an error message of " + n + " bytes in a chunk of " + length);
    }
    ByteBuffer m = ByteBuffer.allocate(n);
    transport.readFully(m);
    transport.skip(length - 6 - n);
    p.fail(code == 0 ? 22 : code, new String(m.array(), java.nio.charset.StandardCharsets.UTF_8));
  }

  private BlockException protocol(String what) {
    return new BlockException("NBD server " + uri + " broke the protocol: " + what);
  }

  private static String describe(IOException e) {
    return e.getMessage() != null ? e.getMessage() : "connection lost";
  }

  static String seconds(long millis) {
    return millis % 1000 == 0 ? millis / 1000 + " s" : millis / 1000.0 + " s";
  }

  private static ScheduledExecutorService timer() {
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "nbd-client-timer");
      th.setDaemon(true);
      return th;
    });
    t.setRemoveOnCancelPolicy(true);
    return t;
  }
}
