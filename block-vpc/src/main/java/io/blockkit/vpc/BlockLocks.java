package io.blockkit.vpc;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Striped locks over virtual blocks: held while a block is allocated or its sector bitmap
 * changes, so that two writers never fill the same sector from the parent at once and a flush
 * never copies half of a bitmap change.
 */
final class BlockLocks {
  private static final int STRIPES = 64;
  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  BlockLocks() {
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  void lock(int block) {
    locks[block % STRIPES].lock();
  }

  void unlock(int block) {
    locks[block % STRIPES].unlock();
  }
}
