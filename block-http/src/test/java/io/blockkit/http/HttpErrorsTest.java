package io.blockkit.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every way a server can let a read down, against the in-test server: each ends in one clear line
 * (never wrong data, never a download of the whole object), or succeeds after retries when the
 * failure was transient.
 */
class HttpErrorsTest {
  private static final int SIZE = 3 * RemoteOptions.BLOCK_SIZE + 100;

  private final byte[] content = new byte[SIZE];
  private TestServer server;
  private BlockRegistry registry;

  @BeforeEach
  void start() throws IOException {
    new Random(7).nextBytes(content);
    server = new TestServer(content);
    registry = BlockRegistry.load();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** Opens {@code name} as raw, with {@code options} for the http protocol node below it. */
  private BlockDevice open(String name, Map<String, String> options) throws IOException {
    Map<String, String> file = new java.util.LinkedHashMap<>();
    options.forEach((k, v) -> file.put("file." + k, v));
    return registry.open(server.url(name), OpenParams.readOnlyDefaults().withFormat("raw")
        .withOptions(file).withWarnings(w -> { }));
  }

  private static byte[] read(BlockDevice d, long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }

  private static byte[] slice(byte[] a, int from, int n) {
    byte[] out = new byte[n];
    System.arraycopy(a, from, out, 0, n);
    return out;
  }

  @Test
  void notFoundIsOneLineNamingTheUrlAndTheStatus() {
    server.status = 404;
    ImageAccessException e = assertThrows(ImageAccessException.class, () -> open("x.img",
        Map.of()));
    assertEquals(ImageAccessException.Reason.NOT_FOUND, e.reason());
    assertEquals("Could not access '" + server.url("x.img") + "': No such file or directory"
        + " (HTTP 404 Not Found from " + host() + ")", e.getMessage());
  }

  @Test
  void forbiddenIsPermissionDenied() {
    server.status = 403;
    ImageAccessException e = assertThrows(ImageAccessException.class, () -> open("x.img",
        Map.of()));
    assertEquals(ImageAccessException.Reason.ACCESS_DENIED, e.reason());
    assertTrue(e.getMessage().endsWith("Permission denied (HTTP 403 Forbidden from " + host()
        + ")"), e.getMessage());
  }

  @Test
  void aServerWithoutRangesIsRefusedWithoutDownloadingTheObject() {
    server.ranges = false;
    BlockException e = assertThrows(BlockException.class, () -> open("x.img", Map.of()));
    assertEquals("Server " + host() + " does not honour range requests: it answered a request"
        + " for part of '" + server.url("x.img") + "' with the whole object (HTTP 200); blockkit"
        + " reads images in parts and needs a server that serves byte ranges", e.getMessage());
    assertEquals(1, server.requests.size(), "requests: " + server.requests);
  }

  @Test
  void anObjectThatChangesFailsTheReadInsteadOfMixingVersions() throws IOException {
    try (BlockDevice d = open("x.img", Map.of("readahead", "0"))) {
      assertArrayEquals(slice(content, 0, 100), read(d, 0, 100));
      server.etag = "\"v2\"";
      server.content = new byte[SIZE];
      BlockException e = assertThrows(BlockException.class,
          () -> read(d, 2L * RemoteOptions.BLOCK_SIZE, 100));
      assertEquals("'" + server.url("x.img") + "' changed on the server while it was open (the"
          + " server refused the request for the version opened (HTTP 412)); open it again to"
          + " read the new version", e.getMessage());
      // what was read before the change still reads the same, from the cache
      assertArrayEquals(slice(content, 0, 100), read(d, 0, 100));
    }
  }

  @Test
  void aChangeIsCaughtEvenWhenTheServerIgnoresPreconditions() throws IOException {
    server.ignoreIfMatch = true;
    try (BlockDevice d = open("x.img", Map.of("readahead", "0"))) {
      server.etag = "\"v2\"";
      BlockException e = assertThrows(BlockException.class,
          () -> read(d, RemoteOptions.BLOCK_SIZE, 10));
      assertTrue(e.getMessage().contains("changed on the server while it was open (its ETag was"
          + " \"v1\" and is now \"v2\")"), e.getMessage());
    }
  }

  @Test
  void aChangedSizeIsCaughtWithoutAnEtag() throws IOException {
    server.noEtag = true;
    try (BlockDevice d = open("x.img", Map.of("readahead", "0"))) {
      server.content = new byte[SIZE + 1];
      BlockException e = assertThrows(BlockException.class,
          () -> read(d, RemoteOptions.BLOCK_SIZE, 10));
      assertTrue(e.getMessage().contains("(its size was " + SIZE + " bytes and is now "
          + (SIZE + 1) + ")"), e.getMessage());
    }
  }

  @Test
  void serverErrorsAreRetriedUntilTheyPass() throws IOException {
    try (BlockDevice d = open("x.img", Map.of("readahead", "0"))) {
      server.failures.set(3);
      assertArrayEquals(slice(content, 5000, 3000), read(d, 5000, 3000));
      assertEquals(5, server.requests.size(), "open, 3 failures, 1 success: " + server.requests);
    }
  }

  @Test
  void serverErrorsPastTheRetriesAreOneLineSayingSo() throws IOException {
    try (BlockDevice d = open("x.img", Map.of("readahead", "0", "retries", "1"))) {
      server.failures.set(100);
      BlockException e = assertThrows(BlockException.class, () -> read(d, 0, 10));
      assertEquals("Could not read '" + server.url("x.img") + "': HTTP 500 Internal Server Error"
          + " from " + host() + " (gave up after 1 retry)", e.getMessage());
      server.failures.set(0);
      assertArrayEquals(slice(content, 0, 10), read(d, 0, 10), "a later read tries again");
    }
  }

  @Test
  void aBodyCutShortIsRetried() throws IOException {
    try (BlockDevice d = open("x.img", Map.of("readahead", "0"))) {
      server.shortBodies.set(2);
      assertArrayEquals(slice(content, RemoteOptions.BLOCK_SIZE - 5, 10),
          read(d, RemoteOptions.BLOCK_SIZE - 5, 10));
    }
  }

  @Test
  void aSlowServerTimesOut() throws IOException {
    try (BlockDevice d = open("x.img", Map.of("readahead", "0", "timeout", "2",
        "retries", "0"))) {
      server.delayMillis = 10_000;
      long start = System.nanoTime();
      BlockException e = assertThrows(BlockException.class, () -> read(d, 0, 10));
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals("Could not read '" + server.url("x.img") + "': " + host()
          + " did not answer within 2 s", e.getMessage());
      assertTrue(millis < 9000, "gave up after " + millis + " ms");
    }
  }

  @Test
  void aRefusedConnectionAtOpenIsNotRetried() throws IOException {
    String url = "http://127.0.0.1:" + Nginx.freePort() + "/x.img";
    long start = System.nanoTime();
    BlockException e = assertThrows(BlockException.class, () -> registry.open(url,
        OpenParams.readOnlyDefaults().withWarnings(w -> { })));
    assertEquals("Could not access '" + url + "': connection to "
        + url.substring(7, url.indexOf("/x.img")) + " refused", e.getMessage());
    assertTrue(System.nanoTime() - start < 2_000_000_000L, "open waited for retries");
  }

  @Test
  void readWriteOpensAreRefusedByTheRegistry() {
    UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
        () -> registry.open(server.url("x.img"), OpenParams.defaults().withWarnings(w -> { })));
    assertEquals("Driver 'http' can only open images read-only", e.getMessage());
  }

  @Test
  void badUrlsAndOptionsAreRefusedBeforeAnyRequest() {
    InvalidOptionException creds = assertThrows(InvalidOptionException.class,
        () -> registry.open("http://user:secret@127.0.0.1/x", OpenParams.readOnlyDefaults()));
    assertFalse(creds.getMessage().contains("secret"), creds.getMessage());
    assertThrows(InvalidOptionException.class,
        () -> registry.open("http:/relative", OpenParams.readOnlyDefaults()));
    InvalidOptionException parallel = assertThrows(InvalidOptionException.class,
        () -> open("x.img", Map.of("parallel", "0")));
    assertEquals("Option 'parallel': 0 is out of range; expected 1 to 64", parallel.getMessage());
    InvalidOptionException cache = assertThrows(InvalidOptionException.class,
        () -> open("x.img", Map.of("cache-size", "1E")));
    assertTrue(cache.getMessage().contains("more than half of the JVM's"), cache.getMessage());
    assertTrue(server.requests.isEmpty(), "requests: " + server.requests);
  }

  @Test
  void anEmptyObjectOpensWithSizeZero() throws IOException {
    server.content = new byte[0];
    try (BlockDevice d = open("x.img", Map.of())) {
      assertEquals(0, d.size());
    }
  }

  private String host() {
    String u = server.url("");
    return u.substring("http://".length(), u.length() - 1);
  }
}
