package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The block allocation table in memory: one u32 per block, the sector where the block's bitmap
 * starts, or {@link DynamicHeader#UNALLOCATED}. Entries are read without locks (atomic); changes
 * are written back a 512-byte BAT sector at a time by {@link #write}.
 */
final class Bat {
  static final int PER_SECTOR = VpcFile.SECTOR / 4;

  private final AtomicIntegerArray entries;
  private final long tableOffset;
  private final DirtySet dirty = new DirtySet();

  Bat(int[] entries, long tableOffset) {
    this.entries = new AtomicIntegerArray(entries);
    this.tableOffset = tableOffset;
  }

  int size() {
    return entries.length();
  }

  int get(int block) {
    return entries.get(block);
  }

  static boolean isAllocated(int entry) {
    return entry != DynamicHeader.UNALLOCATED;
  }

  /** File offset of the block an allocated entry names (its bitmap). */
  static long offsetOf(int entry) {
    return Integer.toUnsignedLong(entry) * VpcFile.SECTOR;
  }

  /** Sets an entry in memory; it reaches the file with the next {@link #writeChanged}. */
  void set(int block, int entry) {
    entries.set(block, entry);
    dirty.mark(block / PER_SECTOR);
  }

  boolean hasChanges() {
    return !dirty.isEmpty();
  }

  /** A changed BAT sector as it was when a flush began. */
  record Sector(int index, long generation, ByteBuffer bytes) {}

  /**
   * Copies of the BAT sectors changed so far, taken before a flush makes the data they point to
   * durable; the last sector only as far as the BAT goes.
   */
  java.util.List<Sector> changes() {
    java.util.List<Sector> out = new java.util.ArrayList<>();
    for (Map.Entry<Integer, Long> c : dirty.snapshot().entrySet()) {
      int first = c.getKey() * PER_SECTOR;
      int n = Math.min(PER_SECTOR, entries.length() - first);
      ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.BIG_ENDIAN);
      for (int i = 0; i < n; i++) {
        b.putInt(entries.get(first + i));
      }
      b.flip();
      out.add(new Sector(c.getKey(), c.getValue(), b));
    }
    return out;
  }

  /**
   * Writes the copies and marks each sector clean unless it changed after its copy was taken. A
   * failed write leaves the rest dirty.
   */
  void write(BlockDevice file, java.util.List<Sector> sectors) throws IOException {
    for (Sector s : sectors) {
      file.write(tableOffset + 4L * s.index() * PER_SECTOR, s.bytes().duplicate());
      dirty.written(s.index(), s.generation());
    }
  }
}
