package io.blockkit.nbd.protocol;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLEngine;

/**
 * One connection's byte stream, plain or TLS, over a blocking {@link SocketChannel} (TCP or a
 * Unix socket). One thread reads while others write: {@link #readFully} and the {@code read*}
 * helpers belong to a single reader; {@link #write} is safe from many threads (each call goes
 * out whole, never interleaved with another).
 */
public abstract class Transport implements Closeable {
  /** Heap buffers go through the JDK's per-thread direct copy: keep that copy this small. */
  static final int HEAP_CHUNK = 256 << 10;

  /** The socket, shared by a plain transport and the TLS one that takes it over. */
  protected final SocketChannel channel;
  private final ByteBuffer scratch = ByteBuffer.allocate(8);

  Transport(SocketChannel channel) {
    this.channel = channel;
  }

  /**
   * Fills {@code dst} completely.
   *
   * @throws EOFException when the peer closed the connection first
   */
  public abstract void readFully(ByteBuffer dst) throws IOException;

  /**
   * Writes every remaining byte of {@code srcs}, in order, as one uninterrupted unit.
   *
   * @throws IOException when the connection fails
   */
  public abstract void write(ByteBuffer... srcs) throws IOException;

  /** Ends reading: the reader's current and later reads see the end of the stream. */
  public final void shutdownInput() {
    try {
      channel.shutdownInput();
    } catch (IOException e) {
      // already closed: reads end anyway
    }
  }

  /** True once TLS protects the connection. */
  public abstract boolean isTls();

  /**
   * Starts TLS on this connection (after STARTTLS was agreed): handshakes with {@code engine}
   * and returns the protected transport, which takes over the socket. Bytes already received
   * past the agreement are handed to TLS.
   *
   * @throws IOException when the handshake fails (the socket is then closed)
   */
  public abstract Transport startTls(SSLEngine engine) throws IOException;

  /** Closes the socket; blocked reads and writes end with an exception. Idempotent. */
  @Override
  public abstract void close();

  /** Closes the socket itself. */
  final void closeChannel() {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing left to release
    }
  }

  /** A plain transport over a connected blocking channel. */
  public static Transport plain(SocketChannel channel) {
    return new PlainTransport(channel);
  }

  public final int readInt() throws IOException {
    return fill(4).getInt();
  }

  public final long readLong() throws IOException {
    return fill(8).getLong();
  }

  /**
   * An unsigned 16-bit value.
   *
   * @throws java.io.EOFException when the peer closed the connection first
   * @throws IOException when the connection fails
   */
  public final int readShort() throws IOException {
    return fill(2).getShort() & 0xffff;
  }

  /**
   * Reads and drops {@code n} bytes.
   *
   * @throws java.io.EOFException when the peer closed the connection first
   * @throws IOException when the connection fails
   */
  public final void skip(long n) throws IOException {
    ByteBuffer sink = ByteBuffer.allocate((int) Math.min(n, 64 << 10));
    long left = n;
    while (left > 0) {
      int step = (int) Math.min(left, sink.capacity());
      sink.clear().limit(step);
      readFully(sink);
      left -= step;
    }
  }

  private ByteBuffer fill(int n) throws IOException {
    scratch.clear().limit(n);
    readFully(scratch);
    return scratch.flip();
  }

  /** Writes all of {@code srcs} to {@code channel}, heap buffers in bounded pieces. */
  static void writeAll(SocketChannel channel, ByteBuffer[] srcs) throws IOException {
    boolean direct = true;
    for (ByteBuffer b : srcs) {
      direct &= b.isDirect() || b.remaining() <= HEAP_CHUNK;
    }
    if (direct) {
      long left = remaining(srcs);
      while (left > 0) {
        left -= channel.write(srcs);
      }
      return;
    }
    for (ByteBuffer b : srcs) {
      while (b.hasRemaining()) {
        ByteBuffer piece = b.slice();
        piece.limit(Math.min(piece.remaining(), HEAP_CHUNK));
        while (piece.hasRemaining()) {
          channel.write(piece);
        }
        b.position(b.position() + piece.limit());
      }
    }
  }

  static long remaining(ByteBuffer[] srcs) {
    long n = 0;
    for (ByteBuffer b : srcs) {
      n += b.remaining();
    }
    return n;
  }
}
