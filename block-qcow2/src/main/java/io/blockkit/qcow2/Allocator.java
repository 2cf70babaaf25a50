package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hands out host clusters (and bytes for compressed clusters) and takes them back, keeping the
 * refcounts exact at every flush and never below the references a crash could leave:
 *
 * <ul>
 *   <li><b>Clusters come from a reserved pool:</b> a batch of free clusters gets refcount 1 and
 *       is flushed before any of them is used, so an L2 entry never reaches the disk before the
 *       refcount of what it points to (a crash leaks the unused rest of the pool). Batches grow
 *       while a session keeps allocating; what is left goes back before a check and at close.
 *   <li><b>Compressed clusters share host clusters:</b> a host cluster being filled carries a
 *       durable refcount at or above the number of compressed clusters placed in it; it is
 *       settled to the exact count at flush.
 *   <li><b>Frees wait for the next flush:</b> the entries that dropped a cluster are made durable
 *       first, then its refcount is lowered, so a crash never leaves an entry pointing to a
 *       cluster counted as free.
 * </ul>
 *
 * <p>One lock (this object) guards everything; it is held only for metadata work.
 */
final class Allocator {
  /** A run of host clusters. */
  record Run(long cluster, long count) {}

  /** Names metadata a cluster holds, or null: a free refcount there means a damaged image. */
  interface Guard {
    String owner(long cluster);
  }

  private static final int FIRST_BATCH = 16;
  private static final long MAX_BATCH_BYTES = 64L << 20;
  private static final long PACK_CREDIT = 64;
  private static final int MAX_PENDING = 4096;

  private final String location;
  private final BlockDevice file;
  private final Layout layout;
  private final Refcounts refcounts;
  private final Guard guard;
  private final Barrier barrier;
  private final Deque<long[]> pool = new ArrayDeque<>();
  private long pooled;
  private long batch = FIRST_BATCH;
  /** Clusters below this are in use or pooled. */
  private long hint;
  private boolean lazy;
  /** Clusters whose refcount drops by one at the next flush: {cluster, count}. */
  private final List<long[]> pendingFrees = new ArrayList<>();
  private long pendingCount;
  /** The host cluster compressed data is being packed into, or -1, and bytes used in it. */
  private long packCluster = -1;
  private long packUsed;
  /** Pack clusters whose durable refcount may exceed their references: {references, durable}. */
  private final Map<Long, long[]> unsettled = new HashMap<>();

  Allocator(String location, BlockDevice file, Layout layout, Refcounts refcounts, Guard guard,
      Barrier barrier) {
    this.location = location;
    this.file = file;
    this.barrier = barrier;
    this.layout = layout;
    this.refcounts = refcounts;
    this.guard = guard;
  }

  Refcounts refcounts() {
    return refcounts;
  }

  /** Lazy refcounts: nothing is flushed for ordering (the dirty bit covers a crash). */
  synchronized void setLazy(boolean lazy) {
    this.lazy = lazy;
    refcounts.setLazy(lazy);
  }

  synchronized long allocateOne() throws IOException {
    List<Run> r = allocate(1);
    return r.get(0).cluster();
  }

  /** {@code count} clusters in one run past everything in use, refcount 1 (durable). */
  synchronized long allocateContiguous(long count) throws IOException {
    long first = refcounts.takeEnd(count);
    refcounts.set(first, count, 1);
    if (!lazy) {
      barrier.order();
    }
    return first;
  }

  /** {@code count} clusters with refcount 1, in runs (contiguous where the pool allows). */
  synchronized List<Run> allocate(long count) throws IOException {
    if (pooled < count) {
      reserve(Math.max(count - pooled, batch));
      batch = Math.min(batch * 2, Math.max(FIRST_BATCH, MAX_BATCH_BYTES / layout.clusterSize));
    }
    List<Run> out = new ArrayList<>();
    long need = count;
    while (need > 0) {
      long[] run = pool.peekFirst();
      long n = Math.min(need, run[1]);
      out.add(new Run(run[0], n));
      run[0] += n;
      run[1] -= n;
      if (run[1] == 0) {
        pool.pollFirst();
      }
      pooled -= n;
      need -= n;
    }
    return out;
  }

  /** Gives refcount 1 to {@code n} free clusters (holes first, then the end) and flushes. */
  private void reserve(long n) throws IOException {
    List<long[]> runs = new ArrayList<>();
    long got = 0;
    long c = hint;
    while (got < n) {
      long end = refcounts.end();
      c = refcounts.nextFree(c, end);
      if (c >= end) {
        long take = n - got;
        long first = refcounts.takeEnd(take);
        runs.add(new long[] {first, take});
        got = n;
        c = first + take;
        break;
      }
      long start = c;
      while (c < end && got < n && refcounts.get(c) == 0) {
        refuseMetadata(c);
        c++;
        got++;
      }
      runs.add(new long[] {start, c - start});
    }
    hint = c;
    for (long[] r : runs) {
      refcounts.set(r[0], r[1], 1);
    }
    if (!lazy) {
      barrier.order();
    }
    for (long[] r : runs) {
      if (!pool.isEmpty() && pool.peekLast()[0] + pool.peekLast()[1] == r[0]) {
        pool.peekLast()[1] += r[1];
      } else {
        pool.addLast(r);
      }
      pooled += r[1];
    }
  }

  private void refuseMetadata(long cluster) throws CorruptImageException {
    String owner = guard.owner(cluster);
    if (owner != null) {
      throw new CorruptImageException(location, "cluster " + cluster + " holds the " + owner
          + " but its refcount is 0 (run check -r all)");
    }
  }

  /**
   * Room for {@code size} bytes of compressed data (less than a cluster), packed after the
   * previous compressed cluster as qemu does; each host cluster it touches gains a reference.
   *
   * @return the host byte offset
   */
  synchronized long allocateBytes(int size) throws IOException {
    long cs = layout.clusterSize;
    if (packCluster >= 0 && packUsed < cs) {
      long at = (packCluster << layout.clusterBits) + packUsed;
      if (packUsed + size <= cs) {
        if (reference(packCluster)) {
          packUsed += size;
          return at;
        }
      } else {
        // Spill into the next cluster only when it is the one the pool gives next.
        long[] next = pool.peekFirst();
        if (next != null && next[0] == packCluster + 1 && wouldFit(packCluster)) {
          long second = allocateOne();
          reference(packCluster);
          unsettled.put(second, new long[] {0, 1});
          reference(second);
          packCluster = second;
          packUsed = packUsed + size - cs;
          return at;
        }
      }
    }
    settlePack();
    packCluster = allocateOne();
    unsettled.put(packCluster, new long[] {0, 1});
    reference(packCluster);
    packUsed = size;
    return packCluster << layout.clusterBits;
  }

  private boolean wouldFit(long cluster) {
    long[] s = unsettled.get(cluster);
    return s != null && s[0] < layout.refcountMax;
  }

  /** One more reference into a pack cluster, raising its durable refcount ahead when needed. */
  private boolean reference(long cluster) throws IOException {
    long[] s = unsettled.get(cluster);
    if (s == null || s[0] >= layout.refcountMax) {
      return false;
    }
    s[0]++;
    if (s[0] > s[1]) {
      s[1] = Math.min(layout.refcountMax, s[0] + PACK_CREDIT);
      refcounts.set(cluster, 1, s[1]);
      if (!lazy) {
        barrier.order();
      }
    }
    return true;
  }

  /** Lowers pack clusters' refcounts to their exact references and ends the pack. */
  private void settlePack() throws IOException {
    for (Map.Entry<Long, long[]> e : unsettled.entrySet()) {
      long[] s = e.getValue();
      if (s[1] != s[0]) {
        refcounts.set(e.getKey(), 1, s[0]);
      }
      if (s[0] == 0) {
        hint = Math.min(hint, e.getKey());
      }
    }
    unsettled.clear();
    packCluster = -1;
  }

  /** Schedules one reference less on {@code count} clusters from {@code cluster}. */
  synchronized void free(long cluster, long count) {
    pendingFrees.add(new long[] {cluster, count});
    pendingCount += count;
  }

  /** Schedules the release of a compressed cluster's data (each host cluster it touches). */
  synchronized void freeCompressed(long entry) {
    long off = layout.compressedOffset(entry);
    long len = layout.compressedLength(entry);
    long first = off >>> layout.clusterBits;
    long last = (off + len - 1) >>> layout.clusterBits;
    free(first, last - first + 1);
  }

  /** True when so many frees wait that the caller should flush now. */
  synchronized boolean manyPending() {
    return pendingCount >= MAX_PENDING;
  }

  /** The frees scheduled so far, handed to {@link #applyFrees} once their entries are durable. */
  synchronized List<long[]> takePending() {
    List<long[]> out = new ArrayList<>(pendingFrees);
    pendingFrees.clear();
    pendingCount = 0;
    return out;
  }

  /**
   * After the entries that dropped them are durable (the caller flushed since {@link
   * #takePending}): lowers their refcounts and settles the pack.
   */
  synchronized void applyFrees(List<long[]> frees) throws IOException {
    settlePack();
    for (long[] f : frees) {
      for (long c = f[0]; c < f[0] + f[1]; c++) {
        if (refcounts.get(c) == 0) {
          throw new CorruptImageException(location, "cluster " + c + " is freed but its refcount "
              + "is already 0 (run check -r all)");
        }
        if (refcounts.add(c, -1) == 0) {
          hint = Math.min(hint, c);
        }
      }
    }
    refcounts.writeDirty();
  }

  /** Returns the unused pool (refcount 0 again), before a check or a close. */
  synchronized void releasePool() throws IOException {
    for (long[] r : pool) {
      refcounts.set(r[0], r[1], 0);
      hint = Math.min(hint, r[0]);
    }
    pool.clear();
    pooled = 0;
    batch = FIRST_BATCH;
  }

  /** Forgets every in-memory state after a repair rebuilt the refcounts. */
  synchronized void reset() {
    pool.clear();
    pooled = 0;
    pendingFrees.clear();
    pendingCount = 0;
    unsettled.clear();
    packCluster = -1;
    hint = 0;
    batch = FIRST_BATCH;
  }
}
