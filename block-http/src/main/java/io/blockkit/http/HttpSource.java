package io.blockkit.http;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpResponse.ResponseInfo;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One object on an HTTP(S) server, read with range requests through the JDK's client. Open sends
 * a GET for byte 0 to learn, in one round trip, the size (from {@code Content-Range}), the version
 * ({@code ETag}, else {@code Last-Modified}) and that the server honours ranges. Every later
 * request carries the version as a precondition ({@code If-Match} for a strong ETag, else {@code
 * If-Unmodified-Since}) and its answer is checked against it too, so that a changed object fails
 * the read instead of mixing two versions.
 *
 * <p>Redirects are followed as a browser would (never from HTTPS to HTTP); HTTP/1.1 is used, with
 * one connection per request in flight.
 */
final class HttpSource implements RangeSource {
  private static final int PARTIAL = 206;

  private final HttpClient client;
  private final URI uri;
  private final String location;
  private final String server;
  private final Duration timeout;
  private final long size;
  private final String etag;
  private final String lastModified;

  private HttpSource(HttpClient client, URI uri, String location, Duration timeout, long size,
      String etag, String lastModified) {
    this.client = client;
    this.uri = uri;
    this.location = location;
    this.server = serverOf(uri);
    this.timeout = timeout;
    this.size = size;
    this.etag = etag;
    this.lastModified = lastModified;
  }

  /**
   * Opens the object at {@code uri}.
   *
   * @param location the image as the user named it, for messages
   * @throws ImageAccessException when the server answers 404, 410, 401 or 403, or cannot be reached
   * @throws BlockException when it does not honour ranges, or TLS fails (the message says why)
   */
  static HttpSource open(String location, URI uri, RemoteOptions options) throws IOException {
    HttpClient client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NORMAL)
        .connectTimeout(options.timeout())
        .build();
    HttpSource probe = new HttpSource(client, uri, location, options.timeout(), -1, null, null);
    return new Retries(options.retries()).run(probe::first);
  }

  /** The answer to a GET for byte 0: this source with its size and version. */
  private HttpSource first() throws IOException {
    HttpResponse<Integer> r = send(request(0, 0), new byte[1], 1, true);
    int status = r.statusCode();
    HttpHeaders h = r.headers();
    long total;
    if (status == PARTIAL) {
      ContentRange cr = ContentRange.parse(h).orElseThrow(() -> new BlockException(
          "Server " + server + " answered a range request for '" + location + "' without a valid"
          + " Content-Range header (" + h.firstValue("content-range").orElse("none") + ")"));
      if (cr.total() < 0) {
        throw new BlockException("Server " + server + " does not tell the size of '" + location
            + "' (Content-Range: " + h.firstValue("content-range").orElse("") + ")");
      }
      total = cr.total();
    } else if (status == 416) {
      // Nothing to serve at byte 0: an empty object (Content-Range: bytes */0).
      total = ContentRange.parse(h).map(ContentRange::total).orElse(0L);
      if (total != 0) {
        throw new BlockException("Server " + server + " refused a range request for byte 0 of '"
            + location + "' (HTTP 416) although it is " + total + " bytes long");
      }
    } else if (status == 200 && h.firstValueAsLong("content-length").orElse(-1) == 0) {
      total = 0; // an empty object, served whole
    } else if (status == 200) {
      throw noRanges();
    } else {
      throw failure(status, "open");
    }
    String tag = h.firstValue("etag").orElse(null);
    return new HttpSource(client, uri, location, timeout, total, tag,
        tag != null && !tag.startsWith("W/") ? null : h.firstValue("last-modified").orElse(null));
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void fetch(long offset, byte[] dst, int length) throws IOException {
    long end = offset + length - 1;
    HttpRequest.Builder b = request(offset, end);
    if (etag != null && !etag.startsWith("W/")) {
      b.header("If-Match", etag);
    } else if (lastModified != null) {
      b.header("If-Unmodified-Since", lastModified);
    }
    HttpResponse<Integer> r = send(b, dst, length, false);
    int status = r.statusCode();
    if (status == 412 || status == 416) {
      throw changed("the server refused the request for the version opened (HTTP " + status
          + ")");
    }
    if (status == 200) {
      throw noRanges();
    }
    if (status != PARTIAL) {
      throw failure(status, "read");
    }
    HttpHeaders h = r.headers();
    String tag = h.firstValue("etag").orElse(null);
    if (etag != null && tag != null && !etag.equals(tag)) {
      throw changed("its ETag was " + etag + " and is now " + tag);
    }
    ContentRange cr = ContentRange.parse(h).orElse(null);
    if (cr == null || cr.first() != offset || cr.last() != end) {
      throw new BlockException("Server " + server + " answered a request for bytes " + offset
          + "-" + end + " of '" + location + "' with "
          + h.firstValue("content-range").map(v -> "Content-Range: " + v).orElse("no Content-Range"));
    }
    if (cr.total() >= 0 && cr.total() != size) {
      throw changed("its size was " + size + " bytes and is now " + cr.total());
    }
    Integer got = r.body();
    if (got == null || got != length) {
      throw new TransientException("Server " + server + " sent " + (got == null ? 0 : got)
          + " of " + length + " bytes at offset " + offset + " of '" + location + "'", null);
    }
  }

  private HttpRequest.Builder request(long first, long last) {
    return HttpRequest.newBuilder(uri).GET().timeout(timeout)
        .header("Range", "bytes=" + first + "-" + last);
  }

  /**
   * Sends the request and waits at most the timeout for the whole answer. Only a 206 of the
   * expected length has its body read, into {@code dst}; any other answer's body is dropped
   * unread, so that a server that ignores the range never sends us the whole object.
   */
  private HttpResponse<Integer> send(HttpRequest.Builder b, byte[] dst, int expected,
      boolean opening) throws IOException {
    IntoArray sink = new IntoArray(dst, expected);
    BodyHandler<Integer> handler = info -> wanted(info, expected)
        ? sink
        : BodySubscribers.mapping(BodySubscribers.ofInputStream(), in -> {
          try {
            in.close();
          } catch (IOException e) {
            // dropped anyway
          }
          return null;
        });
    CompletableFuture<HttpResponse<Integer>> f = client.sendAsync(b.build(), handler);
    try {
      HttpResponse<Integer> r = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (r.statusCode() >= 500 || r.statusCode() == 408 || r.statusCode() == 429) {
        throw new TransientException("Could not read '" + location + "': HTTP "
            + r.statusCode() + " " + HttpStatus.reason(r.statusCode()) + " from " + server, null);
      }
      return r;
    } catch (TimeoutException e) {
      sink.abandon();
      f.cancel(true);
      throw NetFailures.timedOut(location, server, timeout, e);
    } catch (InterruptedException e) {
      sink.abandon();
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Interrupted while reading '" + location + "'");
    } catch (ExecutionException e) {
      throw NetFailures.describe(e.getCause(), location, server, timeout, opening);
    }
  }

  private static boolean wanted(ResponseInfo info, long expected) {
    if (info.statusCode() != PARTIAL) {
      return false;
    }
    long declared = info.headers().firstValueAsLong("content-length").orElse(-1);
    return declared < 0 || declared == expected;
  }

  private BlockException noRanges() {
    return new BlockException("Server " + server + " does not honour range requests: it answered"
        + " a request for part of '" + location + "' with the whole object (HTTP 200); blockkit"
        + " reads images in parts and needs a server that serves byte ranges");
  }

  private BlockException changed(String how) {
    return new BlockException("'" + location + "' changed on the server while it was open ("
        + how + "); open it again to read the new version");
  }

  private BlockException failure(int status, String what) {
    String detail = "HTTP " + status + " " + HttpStatus.reason(status) + " from " + server;
    return switch (status) {
      case 404, 410 -> new ImageAccessException(location, Reason.NOT_FOUND, detail, null);
      case 401, 403 -> new ImageAccessException(location, Reason.ACCESS_DENIED, detail, null);
      default -> new BlockException("Could not " + what + " '" + location + "': " + detail);
    };
  }

  static String serverOf(URI uri) {
    int port = uri.getPort();
    return uri.getHost() + (port < 0 ? "" : ":" + port);
  }

  /** {@code Content-Range: bytes FIRST-LAST/TOTAL} (or {@code bytes * /TOTAL}); total -1 for *. */
  record ContentRange(long first, long last, long total) {
    static Optional<ContentRange> parse(HttpHeaders h) {
      return h.firstValue("content-range").flatMap(ContentRange::parse);
    }

    static Optional<ContentRange> parse(String v) {
      String s = v.trim();
      if (!s.regionMatches(true, 0, "bytes ", 0, 6)) {
        return Optional.empty();
      }
      s = s.substring(6).trim();
      int slash = s.indexOf('/');
      if (slash < 0) {
        return Optional.empty();
      }
      try {
        String range = s.substring(0, slash).trim();
        String tot = s.substring(slash + 1).trim();
        long total = tot.equals("*") ? -1 : Long.parseLong(tot);
        if (range.equals("*")) {
          return Optional.of(new ContentRange(-1, -1, total));
        }
        int dash = range.indexOf('-');
        long first = Long.parseLong(range.substring(0, dash));
        long last = Long.parseLong(range.substring(dash + 1));
        if (first < 0 || last < first || total < -1 || (total >= 0 && last >= total)) {
          return Optional.empty();
        }
        return Optional.of(new ContentRange(first, last, total));
      } catch (RuntimeException e) {
        return Optional.empty();
      }
    }
  }
}
