package io.blockkit.memory;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The bytes of one named memory image: fixed-size chunks in a concurrent map; an absent chunk
 * reads as zeros. I/O holds the read lock (many at once); size changes hold the write lock so a
 * shrink cannot interleave with a write beyond the new end.
 */
final class MemoryStore {
  static final int CHUNK = 64 * 1024;
  /** Source of zeros for reads of absent chunks and for zero checks (never written). */
  private static final byte[] ZEROS = new byte[CHUNK];

  private final String name;
  private final ConcurrentMap<Long, byte[]> chunks = new ConcurrentHashMap<>();
  private final ReadWriteLock sizeLock = new ReentrantReadWriteLock();
  private volatile long size;

  MemoryStore(String name, long size) {
    this.name = name;
    this.size = size;
  }

  String name() {
    return name;
  }

  long size() {
    return size;
  }

  long allocatedBytes() {
    return (long) chunks.size() * CHUNK;
  }

  void read(long offset, ByteBuffer dst) {
    sizeLock.readLock().lock();
    try {
      long pos = offset;
      while (dst.hasRemaining()) {
        long idx = pos / CHUNK;
        int in = (int) (pos % CHUNK);
        int n = Math.min(dst.remaining(), CHUNK - in);
        byte[] chunk = chunks.get(idx);
        if (chunk == null || pos >= size) {
          dst.put(ZEROS, 0, n);
        } else {
          synchronized (chunk) {
            dst.put(chunk, in, n);
          }
        }
        pos += n;
      }
    } finally {
      sizeLock.readLock().unlock();
    }
  }

  /** Writes and grows the store when the write ends past its size. */
  void write(long offset, ByteBuffer src) {
    sizeLock.readLock().lock();
    try {
      long pos = offset;
      long end = offset + src.remaining();
      while (src.hasRemaining()) {
        long idx = pos / CHUNK;
        int in = (int) (pos % CHUNK);
        int n = Math.min(src.remaining(), CHUNK - in);
        byte[] chunk = chunks.get(idx);
        if (chunk == null && isZero(src, n)) {
          // zeros into an absent chunk change nothing: keep the image sparse
          src.position(src.position() + n);
        } else {
          if (chunk == null) {
            chunk = chunks.computeIfAbsent(idx, k -> new byte[CHUNK]);
          }
          synchronized (chunk) {
            src.get(chunk, in, n);
          }
        }
        pos += n;
      }
      growTo(end);
    } finally {
      sizeLock.readLock().unlock();
    }
  }

  /** Makes the range read as zeros, dropping whole chunks. */
  void zero(long offset, long length) {
    sizeLock.readLock().lock();
    try {
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        long idx = pos / CHUNK;
        int in = (int) (pos % CHUNK);
        int n = (int) Math.min(end - pos, CHUNK - in);
        if (n == CHUNK) {
          chunks.remove(idx);
        } else {
          byte[] chunk = chunks.get(idx);
          if (chunk != null) {
            synchronized (chunk) {
              java.util.Arrays.fill(chunk, in, in + n, (byte) 0);
            }
          }
        }
        pos += n;
      }
      growTo(end);
    } finally {
      sizeLock.readLock().unlock();
    }
  }

  private synchronized void growTo(long end) {
    if (end > size) {
      size = end;
    }
  }

  /** Sets the size; bytes past a shrunk end are dropped so a later growth reads zeros. */
  void resize(long newSize) {
    sizeLock.writeLock().lock();
    try {
      if (newSize < size) {
        long firstGone = (newSize + CHUNK - 1) / CHUNK;
        chunks.keySet().removeIf(k -> k >= firstGone);
        byte[] tail = chunks.get(newSize / CHUNK);
        if (tail != null) {
          java.util.Arrays.fill(tail, (int) (newSize % CHUNK), CHUNK, (byte) 0);
        }
      }
      synchronized (this) {
        size = newSize;
      }
    } finally {
      sizeLock.writeLock().unlock();
    }
  }

  /** Stores zero-filled chunks for {@code [0, length)} (preallocation). */
  void allocate(long length) {
    sizeLock.readLock().lock();
    try {
      for (long idx = 0; idx * CHUNK < length; idx++) {
        chunks.computeIfAbsent(idx, k -> new byte[CHUNK]);
      }
    } finally {
      sizeLock.readLock().unlock();
    }
  }

  /** Whether the chunk holding {@code offset} is stored. */
  boolean isStored(long offset) {
    return chunks.containsKey(offset / CHUNK);
  }

  private static boolean isZero(ByteBuffer src, int n) {
    int p = src.position();
    if (src.hasArray()) {
      int from = src.arrayOffset() + p;
      return java.util.Arrays.mismatch(src.array(), from, from + n, ZEROS, 0, n) < 0;
    }
    for (int i = 0; i < n; i++) {
      if (src.get(p + i) != 0) {
        return false;
      }
    }
    return true;
  }
}
