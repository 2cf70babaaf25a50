package io.blockkit.http;

import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
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
 * fetches, never while waiting for one. A block is pinned while readers copy from it; only
 * finished, unpinned blocks are evicted, and their arrays are fetched into again, so that
 * streaming a whole image allocates no more than the cache holds.
 */
final class BlockCache {
  private static final AtomicInteger THREADS = new AtomicInteger();

  /** One cached block: its bytes (in flight until the future completes) and its readers. */
  private static final class Block {
    final CompletableFuture<byte[]> data = new CompletableFuture<>();
    int pins;
  }

  private final RangeSource source;
  private final Retries retries;
  private final int blockSize;
  private final int capacity;
  private final int readahead;
  private final ThreadPoolExecutor pool;
  /** Access-ordered: iteration starts with the least recently used. */
  private final LinkedHashMap<Long, Block> blocks = new LinkedHashMap<>(64, 0.75f, true);
  /** Arrays of evicted blocks, fetched into again. */
  private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
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
    List<Block> parts = new ArrayList<>();
    synchronized (this) {
      boolean sequential = offset == lastEnd || blocks.containsKey(first - 1);
      for (long b = first; b <= last; b++) {
        Block block = block(b);
        block.pins++;
        parts.add(block);
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
    try {
      long pos = offset;
      for (int i = 0; i < parts.size(); i++) {
        long b = first + i;
        byte[] data = await(b, parts.get(i));
        int from = (int) (pos - b * blockSize);
        int n = (int) Math.min(validBytes(b) - from, offset + length - pos);
        dst.put(data, from, n);
        pos += n;
      }
    } finally {
      synchronized (this) {
        for (Block block : parts) {
          block.pins--;
        }
      }
    }
  }

  /** Stops the fetching threads; reads in progress fail. */
  void close() {
    pool.shutdownNow();
    synchronized (this) {
      blocks.clear();
      spare.clear();
    }
  }

  private long lastBlock() {
    return (source.size() - 1) / blockSize;
  }

  /** Bytes of block {@code b} inside the source (the last block may be short). */
  private int validBytes(long b) {
    return (int) Math.min(blockSize, source.size() - b * blockSize);
  }

  /** The block, from the cache or a fetch started now. Lock held. */
  private Block block(long b) {
    Block block = blocks.get(b);
    if (block == null || block.data.isCompletedExceptionally()) {
      block = fetch(b);
      blocks.put(b, block);
    }
    return block;
  }

  /** Starts fetching block {@code b} into a spare array or a new one. Lock held. */
  private Block fetch(long b) {
    long start = b * blockSize;
    int n = validBytes(b);
    byte[] array = spare.poll();
    byte[] into = array != null ? array : new byte[blockSize];
    Block block = new Block();
    try {
      pool.execute(() -> {
        try {
          block.data.complete(retries.run(() -> {
            source.fetch(start, into, n);
            return into;
          }));
        } catch (IOException | RuntimeException e) {
          block.data.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException e) {
      block.data.completeExceptionally(new BlockException("The image is closed", e));
    }
    return block;
  }

  /**
   * Drops the least recently used finished, unpinned blocks until the cache fits, keeping their
   * arrays for the next fetches. Lock held.
   */
  private void evict() {
    Iterator<Map.Entry<Long, Block>> it = blocks.entrySet().iterator();
    while (blocks.size() > capacity && it.hasNext()) {
      Block block = it.next().getValue();
      if (block.data.isDone() && block.pins == 0) {
        it.remove();
        if (!block.data.isCompletedExceptionally() && spare.size() < capacity) {
          spare.push(block.data.join());
        }
      }
    }
  }

  private byte[] await(long b, Block block) throws IOException {
    try {
      return block.data.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Interrupted while reading");
    } catch (CancellationException e) {
      throw new BlockException("The image was closed during a read", e);
    } catch (ExecutionException e) {
      synchronized (this) {
        blocks.remove(b, block); // the next read of the block tries again
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
