package io.blockkit.nbd.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLEngine;

/**
 * A connection without TLS. Small reads (headers) are served from a read-ahead buffer, so a
 * stream of pipelined requests costs one system call per buffer, not per header; large reads go
 * straight into the caller's buffer.
 */
final class PlainTransport extends Transport {
  private static final int READ_AHEAD = 64 << 10;

  private final ByteBuffer in = ByteBuffer.allocateDirect(READ_AHEAD).limit(0);
  private final Object writeLock = new Object();

  PlainTransport(SocketChannel channel) {
    super(channel);
  }

  @Override
  public void readFully(ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      if (in.hasRemaining()) {
        int n = Math.min(in.remaining(), dst.remaining());
        ByteBuffer part = in.slice().limit(n);
        dst.put(part);
        in.position(in.position() + n);
      } else if (dst.remaining() >= READ_AHEAD) {
        ByteBuffer piece = dst;
        if (!dst.isDirect() && dst.remaining() > HEAP_CHUNK) {
          piece = dst.slice().limit(HEAP_CHUNK);
        }
        int n = channel.read(piece);
        if (n < 0) {
          throw new EOFException();
        }
        if (piece != dst) {
          dst.position(dst.position() + n);
        }
      } else {
        in.clear();
        int n = channel.read(in);
        in.flip();
        if (n < 0) {
          throw new EOFException();
        }
      }
    }
  }

  @Override
  public void write(ByteBuffer... srcs) throws IOException {
    synchronized (writeLock) {
      writeAll(channel, srcs);
    }
  }

  @Override
  public boolean isTls() {
    return false;
  }

  @Override
  public Transport startTls(SSLEngine engine) throws IOException {
    ByteBuffer early = ByteBuffer.allocate(in.remaining());
    early.put(in).flip();
    TlsTransport tls = new TlsTransport(channel, engine, early);
    try {
      tls.handshake();
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
    return tls;
  }

  @Override
  public void close() {
    closeChannel();
  }
}
