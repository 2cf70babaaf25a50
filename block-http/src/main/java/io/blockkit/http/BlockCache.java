package io.blockkit.http;

import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fixed-size blocks of a {@link RangeSource}, fetched on demand by a small pool of threads and
 * kept least-recently-used first out. A read that needs several missing blocks fetches them in
 * parallel; a read that continues the previous one, or the block before it, starts fetching the
 * readahead window behind it. Two readers of a missing block share one fetch.
 *
 * <p>Thread-safe: the map is guarded by this object's lock, held only to look up and start
 * fetches, never while waiting for one. Blocks in flight are never evicted; a finished block is
 * evicted once the cache is full, and readers that still hold it keep their copy.
 */
final class BlockCache {
  private static final AtomicInteger THREADS = new AtomicInteger();

  private final RangeSource source;
  private final Retries retries;
  private final int blockSize;
  private final int capacity;
  private final int readahead;
  private final ThreadPoolExecutor pool;
  /** Access-ordered: iteration starts with the least recently used. */
  private final LinkedHashMap<Long, CompletableFuture<byte[]>> blocks =
      new LinkedHashMap<>(64, 0.75f, true);
  private long lastEnd = -1;

  BlockCache(RangeSource source, RemoteOptions options, int blockSize) {
    this.source = source;
    this.retries = new Retries(options.retries());
    this.blockSize = blockSize;
    this.capacity = options.cacheBlocks();
    this.readahead = options.readaheadBlocks();
    this.pool = new ThreadPoolExecutor(options.parallel(), options.parallel(), 10,
        TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "blockkit-fetch-" + THREADS.incrementAndGet());
          t.setDaemon(true); // an embedding program that forgets close() can still exit
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
  }

  /** Reads {@code dst.remaining()} bytes at {@code offset}, inside the source's size. */
  void read(long offset, ByteBuffer dst) throws IOException {
    int length = dst.remaining();
    long first = offset / blockSize;
    long last = (offset + length - 1) / blockSize;
    List<CompletableFuture<byte[]>> parts = new ArrayList<>();
    synchronized (this) {
      boolean sequential = offset == lastEnd || blocks.containsKey(first - 1);
      for (long b = first; b <= last; b++) {
        parts.add(block(b));
      }
      if (sequential) {
        long end = Math.min(last + readahead, lastBlock());
        for (long b = last + 1; b <= end; b++) {
          if (!blocks.containsKey(b)) {
            blocks.put(b, fetch(b));
          }
        }
      }
      lastEnd = offset + length;
      evict();
    }
    long pos = offset;
    for (int i = 0; i < parts.size(); i++) {
      long b = first + i;
      byte[] data = await(b, parts.get(i));
      int from = (int) (pos - b * blockSize);
      int n = (int) Math.min(data.length - from, offset + length - pos);
      dst.put(data, from, n);
      pos += n;
    }
  }

  /** Stops the fetching threads; reads in progress fail. */
  void close() {
    pool.shutdownNow();
    synchronized (this) {
      blocks.clear();
    }
  }

  private long lastBlock() {
    return (source.size() - 1) / blockSize;
  }

  /** The block's bytes, from the cache or a fetch started now. Called with the lock held. */
  private CompletableFuture<byte[]> block(long b) {
    CompletableFuture<byte[]> f = blocks.get(b);
    if (f == null || f.isCompletedExceptionally()) {
      f = fetch(b);
      blocks.put(b, f);
    }
    return f;
  }

  private CompletableFuture<byte[]> fetch(long b) {
    long start = b * blockSize;
    int n = (int) Math.min(blockSize, source.size() - start);
    CompletableFuture<byte[]> f = new CompletableFuture<>();
    try {
      pool.execute(() -> {
        try {
          f.complete(retries.run(() -> {
            byte[] data = new byte[n];
            source.fetch(start, data, n);
            return data;
          }));
        } catch (IOException | RuntimeException e) {
          f.completeExceptionally(e);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      f.completeExceptionally(new BlockException("The image is closed", e));
    }
    return f;
  }

  /** Drops the least recently used finished blocks until the cache fits. Lock held. */
  private void evict() {
    Iterator<Map.Entry<Long, CompletableFuture<byte[]>>> it = blocks.entrySet().iterator();
    while (blocks.size() > capacity && it.hasNext()) {
      if (it.next().getValue().isDone()) {
        it.remove();
      }
    }
  }

  private byte[] await(long b, CompletableFuture<byte[]> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Interrupted while reading");
    } catch (CancellationException e) {
      throw new BlockException("The image was closed during a read", e);
    } catch (ExecutionException e) {
      synchronized (this) {
        blocks.remove(b, f); // the next read of the block tries again
      }
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof UncheckedIOException u) {
        throw u.getCause();
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new BlockException(String.valueOf(c.getMessage()), c);
    }
  }
}
