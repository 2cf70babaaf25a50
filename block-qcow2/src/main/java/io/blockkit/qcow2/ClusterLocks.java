package io.blockkit.qcow2;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Locks on virtual clusters, striped over a fixed set of read-write locks: reads and in-place
 * writes hold their clusters shared, anything that changes where a cluster's data lives
 * (allocation, copy-on-write, zeroing, discard) holds them exclusively. A request locks the
 * stripes of a run of consecutive clusters in ascending stripe order, so two requests never wait
 * for each other in a cycle.
 */
final class ClusterLocks {
  private static final int STRIPES = 1024;
  private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];

  ClusterLocks() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantReadWriteLock();
    }
  }

  /** Held stripes; {@link #close} releases them. */
  final class Held implements AutoCloseable {
    private final Lock[] locks;
    private int held;

    private Held(Lock[] locks) {
      this.locks = locks;
    }

    @Override
    public void close() {
      while (held > 0) {
        locks[--held].unlock();
      }
    }
  }

  /** Locks clusters {@code [first, first+count)}, shared or exclusive. */
  Held lock(long first, long count, boolean exclusive) {
    int n = (int) Math.min(count, STRIPES);
    Lock[] order = new Lock[n];
    if (n == STRIPES) {
      for (int i = 0; i < STRIPES; i++) {
        order[i] = pick(i, exclusive);
      }
    } else {
      // The stripes of consecutive clusters are consecutive modulo STRIPES: start at the lowest.
      int s0 = (int) (first % STRIPES);
      int wrap = s0 + n > STRIPES ? s0 + n - STRIPES : 0;
      int k = 0;
      for (int s = 0; s < wrap; s++) {
        order[k++] = pick(s, exclusive);
      }
      for (int s = s0; s < s0 + n - wrap; s++) {
        order[k++] = pick(s, exclusive);
      }
    }
    Held h = new Held(order);
    for (Lock l : order) {
      l.lock();
      h.held++;
    }
    return h;
  }

  private Lock pick(int stripe, boolean exclusive) {
    return exclusive ? stripes[stripe].writeLock() : stripes[stripe].readLock();
  }
}
