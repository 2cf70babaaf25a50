package io.blockkit.nbd.server;

import io.blockkit.nbd.protocol.Transport;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client, on its own thread: the handshake (closed if it does not finish within the
 * server's handshake limit), then the transmission phase.
 */
final class Connection implements Runnable {
  private final NbdServer server;
  private final String peer;
  private volatile Transport transport;
  private volatile boolean transmitting;
  private volatile boolean stopping;

  Connection(NbdServer server, SocketChannel channel, String peer) {
    this.server = server;
    this.peer = peer;
    this.transport = Transport.plain(channel);
  }

  @Override
  public void run() {
    try {
      ServerHandshake.Agreed agreed = handshake();
      if (agreed == null) {
        return;
      }
      transport = agreed.transport();
      transmitting = true;
      if (stopping) {
        transport.shutdownInput();
      }
      server.event(peer + ": connected");
      new Transmission(transport, server.export(), agreed, peer, server::event).run();
      server.event(peer + ": disconnected");
    } finally {
      transport.close();
      server.connectionEnded(this);
    }
  }

  private ServerHandshake.Agreed handshake() {
    ServerHandshake hs = new ServerHandshake(transport, server.export(), server.tls(),
        server.requireClientCertificate(), server::isShuttingDown);
    ScheduledFuture<?> limit = server.timer().schedule(() -> {
      server.event(peer + ": handshake not finished in time; closing");
      hs.transport().close();
    }, server.handshakeLimitMillis(), TimeUnit.MILLISECONDS);
    try {
      return hs.run();
    } catch (ServerHandshake.Ended e) {
      server.event(peer + ": " + e.getMessage());
      return null;
    } catch (IOException | RuntimeException e) {
      server.event(peer + ": handshake failed: " + io.blockkit.nbd.protocol.Tls.describe(e));
      return null;
    } finally {
      limit.cancel(false);
      transport = hs.transport();
    }
  }

  /**
   * Asks the connection to end: a handshake is cut off; in transmission, no further request is
   * read, and those already read are finished and answered.
   */
  void stop() {
    stopping = true;
    if (transmitting) {
      transport.shutdownInput();
    } else {
      transport.close();
    }
  }

  /** Closes the socket at once (when stopping takes too long). */
  void abort() {
    transport.close();
  }
}
