package io.blockkit.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small HTTP server in the test's JVM for the behaviours nginx will not show on demand: no
 * range support, an object that changes, failures before success, slowness, short bodies, error
 * statuses. By default it serves {@link #content} at every path as a well-behaved server would
 * (ranges, a strong ETag, {@code If-Match}). It records the ranges asked for.
 */
final class TestServer implements Closeable {
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

  volatile byte[] content;
  volatile String etag = "\"v1\"";
  /** False: answer every GET with 200 and the whole object. */
  volatile boolean ranges = true;
  /** Answer with this status (and no body) instead of serving; 0 serves. */
  volatile int status;
  /** Answer this many requests with 500 before serving again. */
  final AtomicInteger failures = new AtomicInteger();
  /** Send half the body of this many answers and close the connection. */
  final AtomicInteger shortBodies = new AtomicInteger();
  /** Wait this long before answering. */
  volatile long delayMillis;
  /** Ignore If-Match (a server that does not check preconditions). */
  volatile boolean ignoreIfMatch;
  /** Send no ETag at all. */
  volatile boolean noEtag;
  /** Requests being answered now, and the most there were at once. */
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger mostInFlight = new AtomicInteger();
  /** Ranges asked for, as "first-last", in order of arrival. */
  final List<String> requests = new CopyOnWriteArrayList<>();

  private final HttpServer server;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "test-server");
    t.setDaemon(true);
    return t;
  });

  TestServer(byte[] content) throws IOException {
    this.content = content;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(pool);
    server.start();
  }

  /** {@code http://127.0.0.1:PORT/name}. */
  String url(String name) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + name;
  }

  private void handle(HttpExchange x) throws IOException {
    int now = inFlight.incrementAndGet();
    mostInFlight.accumulateAndGet(now, Math::max);
    try (x) {
      String range = x.getRequestHeaders().getFirst("Range");
      requests.add(range == null ? "all" : range.replace("bytes=", ""));
      if (delayMillis > 0) {
        Thread.sleep(delayMillis);
      }
      if (status != 0) {
        x.sendResponseHeaders(status, -1);
        return;
      }
      if (failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        x.sendResponseHeaders(500, -1);
        return;
      }
      byte[] c = content;
      String tag = etag;
      if (!noEtag) {
        x.getResponseHeaders().set("ETag", tag);
      }
      String ifMatch = x.getRequestHeaders().getFirst("If-Match");
      if (ifMatch != null && !ignoreIfMatch && !ifMatch.equals(tag)) {
        x.sendResponseHeaders(412, -1);
        return;
      }
      Matcher m = range == null ? null : RANGE.matcher(range);
      if (!ranges || m == null || !m.matches()) {
        send(x, 200, c, 0, c.length);
        return;
      }
      long first = Long.parseLong(m.group(1));
      long last = Math.min(Long.parseLong(m.group(2)), c.length - 1L);
      if (first >= c.length) {
        x.getResponseHeaders().set("Content-Range", "bytes */" + c.length);
        x.sendResponseHeaders(416, -1);
        return;
      }
      x.getResponseHeaders().set("Content-Range", "bytes " + first + "-" + last + "/"
          + c.length);
      send(x, 206, c, (int) first, (int) (last - first + 1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void send(HttpExchange x, int code, byte[] c, int from, int n) throws IOException {
    x.sendResponseHeaders(code, n == 0 ? -1 : n);
    if (n == 0) {
      return;
    }
    OutputStream out = x.getResponseBody();
    if (shortBodies.getAndUpdate(k -> Math.max(0, k - 1)) > 0) {
      out.write(c, from, n / 2);
      out.flush();
      throw new IOException("cut short on purpose"); // the server drops the connection
    }
    out.write(c, from, n);
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
