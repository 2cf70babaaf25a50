package io.blockkit.nbd.protocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where an NBD server listens: a TCP host and port, or a Unix socket path.
 *
 * @param host host name or address literal (IPv6 without brackets); null for a Unix socket
 * @param port TCP port (0 when listening: any free port); unused for a Unix socket
 * @param socket the Unix socket's path, or null for TCP
 */
public record Endpoint(String host, int port, Path socket) {
  public Endpoint {
    if (socket == null) {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port " + port + " is not between 0 and 65535");
      }
    }
  }

  public static Endpoint tcp(String host, int port) {
    return new Endpoint(host, port, null);
  }

  public static Endpoint unix(Path socket) {
    return new Endpoint(null, 0, Objects.requireNonNull(socket, "socket"));
  }

  public boolean isUnix() {
    return socket != null;
  }

  /**
   * Connects, giving up after {@code timeoutMillis}; TCP connections get {@code TCP_NODELAY}.
   *
   * @throws IOException the JDK's exception when the connection cannot be made
   */
  public SocketChannel connect(int timeoutMillis) throws IOException {
    if (isUnix()) {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      return ch;
    }
    SocketChannel ch = SocketChannel.open();
    try {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.socket().connect(new InetSocketAddress(host, port), timeoutMillis);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    return ch;
  }

  /**
   * Opens a listening channel (blocking).
   *
   * @throws IOException when the address cannot be bound (in use, no permission)
   */
  public ServerSocketChannel listen(int backlog) throws IOException {
    ServerSocketChannel ch = isUnix() ? ServerSocketChannel.open(StandardProtocolFamily.UNIX)
        : ServerSocketChannel.open();
    try {
      SocketAddress address;
      if (isUnix()) {
        address = UnixDomainSocketAddress.of(socket);
      } else {
        ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        address = host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
      }
      ch.bind(address, backlog);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    return ch;
  }

  /** {@code host:port} (IPv6 in brackets), or the socket path. */
  @Override
  public String toString() {
    if (isUnix()) {
      return socket.toString();
    }
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
