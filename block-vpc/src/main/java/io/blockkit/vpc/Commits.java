package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Where changed metadata reaches the file: the bitmaps of allocated blocks and the BAT sectors
 * (a new block's own first bitmap is written by {@link BlockWriter} before its entry exists).
 * Every request that allocates a block or changes a bitmap commits before it returns, so the
 * image on disk always shows each completed request.
 *
 * <p>Crash ordering, all of it here: copies of the changed units are taken, the file is flushed
 * (so no bit or entry reaches the disk before the data it points to, even on a disk that reorders
 * writes), then the copies are written; a failed write leaves its units pending for the next
 * commit. A unit counts as committed once its write is issued: no flush follows it. So a data
 * write made after the commit (the claimed sectors' data, or a later write in place) is not
 * ordered after the bitmap it relies on, and a disk that reorders unflushed writes could show
 * such a write half done after a crash (see docs/VHD.md). Only {@link #flush} and {@link
 * #setEntries} end with a flush.
 */
final class Commits {
  private final BlockDevice file;
  private final Bat bat;
  private final Bitmaps bitmaps;
  private final BlockLocks locks;
  private final Object flushLock = new Object();

  Commits(BlockDevice file, Bat bat, Bitmaps bitmaps, BlockLocks locks) {
    this.file = file;
    this.bat = bat;
    this.bitmaps = bitmaps;
    this.locks = locks;
  }

  /** True when bitmaps or BAT entries wait to be written (a failed write left them). */
  boolean hasChanges() {
    return bat.hasChanges() || bitmaps.hasChanges();
  }

  /**
   * Writes the metadata that points to data written so far: flush, then the changed bitmaps, then
   * the changed BAT sectors. A change made meanwhile by another request is in a later copy.
   */
  void commit() throws IOException {
    synchronized (flushLock) {
      List<Bitmaps.Copy> maps = bitmaps.changes(locks);
      List<Bat.Sector> sectors = bat.changes();
      if (maps.isEmpty() && sectors.isEmpty()) {
        return;
      }
      file.flush();
      for (Bitmaps.Copy c : maps) {
        file.write(Bat.offsetOf(bat.get(c.block())), ByteBuffer.wrap(c.bytes()));
        bitmaps.written(c);
      }
      bat.write(file, sectors);
    }
  }

  /** Commits what a failed write left, then makes everything durable. */
  void flush() throws IOException {
    commit();
    file.flush();
  }

  /**
   * Points entries at their new places (or unallocates them), after the data the new places
   * hold is made durable: flush, BAT, flush. Cached bitmaps are dropped. For repairs, with the
   * layout lock held exclusively and all metadata committed.
   */
  void setEntries(Map<Integer, Integer> entries) throws IOException {
    if (entries.isEmpty()) {
      return;
    }
    file.flush();
    for (Map.Entry<Integer, Integer> e : entries.entrySet()) {
      bat.set(e.getKey(), e.getValue());
    }
    bat.write(file, bat.changes());
    file.flush();
    bitmaps.clear();
  }
}
