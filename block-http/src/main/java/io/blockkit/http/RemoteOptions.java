package io.blockkit.http;

import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.time.Duration;
import java.util.List;

/**
 * The open options every remote protocol (http, https, s3) takes: how much to cache and read
 * ahead, how many requests to keep in flight, how long to wait and how often to retry.
 *
 * @param cacheSize bytes of fetched blocks kept (least recently used go first); at least the
 *     readahead plus one block is kept whatever this says
 * @param readahead bytes fetched ahead of a sequential reader; 0 turns readahead off
 * @param parallel requests in flight at once for one open image
 * @param timeout how long one request may take, from sending it to its last byte
 * @param retries how often a request that failed transiently (5xx, reset, timeout) is made again
 */
public record RemoteOptions(long cacheSize, long readahead, int parallel, Duration timeout,
    int retries) {
  /** The unit of fetching and caching: big enough for throughput, small for random reads. */
  public static final int BLOCK_SIZE = 1 << 20;

  static final String CACHE_SIZE = "cache-size";
  static final String READAHEAD = "readahead";
  static final String PARALLEL = "parallel";
  static final String TIMEOUT = "timeout";
  static final String RETRIES = "retries";

  private static final int MAX_PARALLEL = 64;
  private static final int MAX_RETRIES = 30;

  /** The defaults, for embedding programs and tests. */
  public static RemoteOptions defaults() {
    return new RemoteOptions(64L << 20, 8L << 20, 4, Duration.ofSeconds(30), 5);
  }

  /** The option specs, for a driver's {@code openOptions()}. */
  public static List<OptionSpec> specs() {
    RemoteOptions d = defaults();
    return List.of(
        OptionSpec.size(CACHE_SIZE, Long.toString(d.cacheSize),
            "Bytes of fetched data kept in memory (LRU, in 1 MiB blocks)"),
        OptionSpec.size(READAHEAD, Long.toString(d.readahead),
            "Bytes fetched ahead of sequential reads (0: off)"),
        OptionSpec.integer(PARALLEL, Integer.toString(d.parallel),
            "Requests in flight at once (1-" + MAX_PARALLEL + ")"),
        OptionSpec.integer(TIMEOUT, Long.toString(d.timeout.toSeconds()),
            "Seconds one request may take, to its last byte"),
        OptionSpec.integer(RETRIES, Integer.toString(d.retries),
            "Retries of a request that failed transiently (5xx, reset, timeout), with back-off"));
  }

  /**
   * The values of {@code o} (parsed against {@link #specs()}), checked.
   *
   * @throws InvalidOptionException when a value is out of range, or the cache would take more
   *     than half of the JVM's heap
   */
  public static RemoteOptions from(Options o) throws InvalidOptionException {
    long cache = o.size(CACHE_SIZE);
    long readahead = o.size(READAHEAD);
    long parallel = o.integer(PARALLEL);
    long timeout = o.integer(TIMEOUT);
    long retries = o.integer(RETRIES);
    if (parallel < 1 || parallel > MAX_PARALLEL) {
      throw new InvalidOptionException("Option 'parallel': " + parallel
          + " is out of range; expected 1 to " + MAX_PARALLEL);
    }
    if (timeout < 1 || timeout > 86_400) {
      throw new InvalidOptionException("Option 'timeout': " + timeout
          + " is out of range; expected 1 to 86400 seconds");
    }
    if (retries < 0 || retries > MAX_RETRIES) {
      throw new InvalidOptionException("Option 'retries': " + retries
          + " is out of range; expected 0 to " + MAX_RETRIES);
    }
    long heap = Runtime.getRuntime().maxMemory();
    long kept = Math.max(cache, readahead + BLOCK_SIZE);
    if (kept > heap / 2) {
      throw new InvalidOptionException("Options 'cache-size' and 'readahead' would keep " + kept
          + " bytes in memory, more than half of the JVM's " + heap + "-byte heap; give smaller"
          + " ones or a bigger heap (-Xmx)");
    }
    return new RemoteOptions(cache, readahead, (int) parallel, Duration.ofSeconds(timeout),
        (int) retries);
  }

  /** Blocks the cache keeps: enough for the readahead window and the block being read. */
  int cacheBlocks() {
    return (int) Math.max(cacheSize / BLOCK_SIZE, readaheadBlocks() + 1);
  }

  /** Blocks fetched ahead of a sequential reader. */
  int readaheadBlocks() {
    return (int) ((readahead + BLOCK_SIZE - 1) / BLOCK_SIZE);
  }
}
