package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A bounded cache of cluster-sized metadata tables (L2 tables, refcount blocks) by host offset,
 * least recently used first out. Memory never grows with the image: at most {@code budget} bytes
 * of tables are held.
 *
 * <p>Callers hold the lock that guards a table (its L2 lock, the allocator's lock) while they
 * load, read or change it, so one table is never loaded twice at once; changes are written
 * through to the file by the caller, except tables marked dirty (refcount blocks under lazy
 * refcounts), which are written when evicted or by {@link #writeDirty}.
 */
final class TableCache {
  private final BlockDevice file;
  private final int tableSize;
  private final int capacity;
  private final Map<Long, byte[]> tables = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<Long, byte[]> dirty = new LinkedHashMap<>();

  TableCache(BlockDevice file, long tableSize, long budget) {
    this.file = file;
    this.tableSize = (int) tableSize;
    this.capacity = (int) Math.max(4, Math.min(Integer.MAX_VALUE, budget / tableSize));
  }

  /** The table at {@code offset}, read from the file when not cached. */
  byte[] get(long offset) throws IOException {
    synchronized (this) {
      byte[] t = tables.get(offset);
      if (t != null) {
        return t;
      }
    }
    byte[] t = new byte[tableSize];
    file.read(offset, ByteBuffer.wrap(t));
    put(offset, t);
    return t;
  }

  /** Caches a table whose bytes the caller has just written (or is about to write). */
  void put(long offset, byte[] table) throws IOException {
    List<Map.Entry<Long, byte[]>> evictedDirty = new ArrayList<>();
    synchronized (this) {
      tables.put(offset, table);
      Iterator<Map.Entry<Long, byte[]>> it = tables.entrySet().iterator();
      while (tables.size() > capacity && it.hasNext()) {
        Map.Entry<Long, byte[]> e = it.next();
        if (e.getKey() == offset) {
          continue;
        }
        it.remove();
        byte[] d = dirty.remove(e.getKey());
        if (d != null) {
          evictedDirty.add(Map.entry(e.getKey(), d));
        }
      }
    }
    for (Map.Entry<Long, byte[]> e : evictedDirty) {
      file.write(e.getKey(), ByteBuffer.wrap(e.getValue()));
    }
  }

  /** Notes that a cached table was changed in memory only; it is written later. */
  synchronized void markDirty(long offset) {
    byte[] t = tables.get(offset);
    if (t != null) {
      dirty.put(offset, t);
    }
  }

  /** Writes every dirty table. */
  void writeDirty() throws IOException {
    List<Map.Entry<Long, byte[]>> out;
    synchronized (this) {
      out = new ArrayList<>(dirty.entrySet());
      dirty.clear();
    }
    for (Map.Entry<Long, byte[]> e : out) {
      file.write(e.getKey(), ByteBuffer.wrap(e.getValue()));
    }
  }

  synchronized boolean hasDirty() {
    return !dirty.isEmpty();
  }

  /** Forgets a table whose cluster is being freed or reused (its dirty bytes are dropped). */
  synchronized void drop(long offset) {
    tables.remove(offset);
    dirty.remove(offset);
  }

  /** Forgets every table (after a repair rewrote them). Dirty tables must be written first. */
  synchronized void clear() {
    tables.clear();
    dirty.clear();
  }
}
