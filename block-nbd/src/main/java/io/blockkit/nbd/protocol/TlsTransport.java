package io.blockkit.nbd.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLEngineResult.Status;
import javax.net.ssl.SSLException;

/**
 * A TLS connection: the JDK's {@link SSLEngine} over the blocking socket channel, so TCP and Unix
 * sockets share one implementation. The engine's wrap and unwrap may run at once (the reader
 * unwraps while writers wrap); a message TLS 1.3 sends after the handshake (a key update) that
 * needs an answer is answered by the reader under the writers' lock.
 */
final class TlsTransport extends Transport {
  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  private final SSLEngine engine;
  /** Received ciphertext, in read mode. */
  private ByteBuffer netIn;
  /** Decrypted bytes not yet handed out, in read mode. */
  private ByteBuffer appIn;
  /** Ciphertext to send; used under {@link #writeLock}. */
  private ByteBuffer netOut;
  private final ReentrantLock writeLock = new ReentrantLock();

  TlsTransport(SocketChannel channel, SSLEngine engine, ByteBuffer early) {
    super(channel);
    this.engine = engine;
    int packet = engine.getSession().getPacketBufferSize();
    netIn = ByteBuffer.allocateDirect(Math.max(packet, early.remaining()));
    netIn.put(early).flip();
    appIn = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize()).limit(0);
    netOut = ByteBuffer.allocateDirect(packet);
  }

  /** Runs the handshake to its end; nothing else uses the connection meanwhile. */
  void handshake() throws IOException {
    engine.beginHandshake();
    HandshakeStatus hs = engine.getHandshakeStatus();
    while (true) {
      switch (hs) {
        case NEED_WRAP -> hs = wrapOnce(EMPTY).getHandshakeStatus();
        case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
          appIn.compact();
          SSLEngineResult r;
          try {
            r = unwrap(appIn);
          } finally {
            appIn.flip();
          }
          if (r.getStatus() == Status.CLOSED) {
            throw new SSLException("The peer closed the connection during the TLS handshake");
          }
          hs = r.getHandshakeStatus();
        }
        case NEED_TASK -> {
          runTasks();
          hs = engine.getHandshakeStatus();
        }
        case FINISHED -> hs = engine.getHandshakeStatus();
        case NOT_HANDSHAKING -> {
          return;
        }
        default -> throw new SSLException("Unexpected TLS handshake state " + hs);
      }
    }
  }

  @Override
  public void readFully(ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      if (appIn.hasRemaining()) {
        int n = Math.min(appIn.remaining(), dst.remaining());
        dst.put(appIn.slice().limit(n));
        appIn.position(appIn.position() + n);
        continue;
      }
      SSLEngineResult r;
      if (dst.remaining() >= appIn.capacity()) {
        r = unwrap(dst); // a whole record fits: no copy through appIn
      } else {
        appIn.clear();
        try {
          r = unwrap(appIn);
        } finally {
          appIn.flip();
        }
      }
      if (r.getStatus() == Status.CLOSED) {
        throw new EOFException();
      }
      afterHandshakeMessage(r.getHandshakeStatus());
    }
  }

  /** Answers what a post-handshake message (session ticket, key update) asks for. */
  private void afterHandshakeMessage(HandshakeStatus hs) throws IOException {
    while (true) {
      if (hs == HandshakeStatus.NEED_TASK) {
        runTasks();
        hs = engine.getHandshakeStatus();
      } else if (hs == HandshakeStatus.NEED_WRAP) {
        writeLock.lock();
        try {
          hs = wrapOnce(EMPTY).getHandshakeStatus();
        } finally {
          writeLock.unlock();
        }
      } else {
        return;
      }
    }
  }

  /**
   * Unwraps one record into {@code dst} (in write mode), reading from the socket as needed.
   * Never returns BUFFER_UNDERFLOW or BUFFER_OVERFLOW.
   */
  private SSLEngineResult unwrap(ByteBuffer dst) throws IOException {
    while (true) {
      SSLEngineResult r = engine.unwrap(netIn, dst);
      switch (r.getStatus()) {
        case BUFFER_UNDERFLOW -> receive();
        case BUFFER_OVERFLOW -> {
          if (dst != appIn) {
            throw new SSLException("TLS record larger than the application buffer");
          }
          ByteBuffer bigger = ByteBuffer.allocateDirect(
              Math.max(appIn.capacity() * 2, engine.getSession().getApplicationBufferSize()));
          appIn.flip();
          bigger.put(appIn);
          appIn = bigger;
          return unwrap(appIn);
        }
        default -> {
          return r;
        }
      }
    }
  }

  /** Reads more ciphertext into {@link #netIn}. */
  private void receive() throws IOException {
    netIn.compact();
    try {
      if (!netIn.hasRemaining()) {
        ByteBuffer bigger = ByteBuffer.allocateDirect(netIn.capacity() * 2);
        netIn.flip();
        bigger.put(netIn);
        netIn = bigger;
      }
      if (channel.read(netIn) < 0) {
        throw new EOFException();
      }
    } finally {
      netIn.flip();
    }
  }

  @Override
  public void write(ByteBuffer... srcs) throws IOException {
    writeLock.lock();
    try {
      while (remaining(srcs) > 0) {
        SSLEngineResult r = wrapOnce(srcs);
        if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
          runTasks();
        }
      }
    } finally {
      writeLock.unlock();
    }
  }

  /** Wraps once and sends the record; the caller holds the write lock (or the handshake). */
  private SSLEngineResult wrapOnce(ByteBuffer... srcs) throws IOException {
    while (true) {
      netOut.clear();
      SSLEngineResult r = engine.wrap(srcs, netOut);
      netOut.flip();
      if (r.getStatus() == Status.BUFFER_OVERFLOW) {
        netOut = ByteBuffer.allocateDirect(netOut.capacity() * 2);
        continue;
      }
      while (netOut.hasRemaining()) {
        channel.write(netOut);
      }
      if (r.getStatus() == Status.CLOSED && r.bytesProduced() == 0) {
        throw new EOFException("The TLS session is closed");
      }
      return r;
    }
  }

  private void runTasks() {
    Runnable task;
    while ((task = engine.getDelegatedTask()) != null) {
      task.run();
    }
  }

  @Override
  public boolean isTls() {
    return true;
  }

  @Override
  public Transport startTls(SSLEngine other) throws IOException {
    throw new SSLException("TLS is already active on this connection");
  }

  /**
   * Sends TLS's close_notify when no write is under way (a writer blocked on a peer that stopped
   * reading must not block the close too), then closes the socket.
   */
  @Override
  public void close() {
    if (!channel.isOpen()) {
      return;
    }
    if (writeLock.tryLock()) {
      try {
        engine.closeOutbound();
        wrapOnce(EMPTY);
      } catch (IOException | RuntimeException e) {
        // the peer is gone: closing the socket is all that is left
      } finally {
        writeLock.unlock();
      }
    }
    closeChannel();
  }
}
