package io.blockkit.vpc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * Where a dynamic image's blocks lie in its file and what is wrong with their places: blocks
 * overlapping each other, the metadata or the footer at the end, blocks reaching past the end of
 * the file, entries past the virtual disk, and the unreferenced space between and after blocks.
 * One sort of the allocated entries; nothing larger than the BAT is allocated.
 */
final class BlockScan {
  /** What is wrong with one block's place. */
  enum Kind {
    /** The bitmap lies past the end of the file: nothing of the block can be read. */
    UNREADABLE,
    /** The block starts inside the file but ends past it: its last sectors cannot be read. */
    CUT_SHORT,
    /** It shares bytes with a block placed before it. */
    OVERLAPS_BLOCK,
    /** It shares bytes with the footer copy, the header, the BAT or a locator's data. */
    OVERLAPS_METADATA,
    /** It reaches over the footer at the end of the file. */
    OVERLAPS_FOOTER
  }

  /** A block whose place is wrong. */
  record Finding(int block, Kind kind, String message) {}

  /** A run of bytes nothing refers to. */
  record Gap(long start, long end) {
    long length() {
      return end - start;
    }
  }

  final List<Finding> findings = new ArrayList<>();
  /** Allocated entries at or past the BAT entries the disk uses. */
  final List<Integer> beyondDisk = new ArrayList<>();
  /** Unreferenced runs between blocks that a whole block fits in. */
  final List<Gap> holes = new ArrayList<>();
  /** Unreferenced space after the last block, before the footer at the end; or null. */
  Gap tail;
  private final BitSet unsafe = new BitSet();
  private long blocksEnd;
  /** Allocated blocks as {start sector << 24 | block}, sorted. */
  private long[] sorted = new long[0];
  private int allocatedInDisk;
  private int fragmented;

  private BlockScan() {}

  /**
   * Scans the BAT of {@code layout} as {@code bat} holds it now.
   *
   * @param fileLength the file's length now
   * @param footerAt where the footer at the end lies (or would go)
   */
  static BlockScan of(VpcFile layout, Bat bat, long fileLength, long footerAt) {
    BlockScan s = new BlockScan();
    s.scan(layout, bat, fileLength, footerAt);
    return s;
  }

  private void scan(VpcFile layout, Bat bat, long fileLength, long footerAt) {
    long footprint = layout.blockFootprint();
    long used = layout.usedEntries();
    int n = 0;
    long[] keys = new long[Math.min(bat.size(), 1024)];
    long previousEnd = -1;
    for (int i = 0; i < bat.size(); i++) {
      int e = bat.get(i);
      if (!Bat.isAllocated(e)) {
        continue;
      }
      if (i >= used) {
        beyondDisk.add(i);
      } else {
        allocatedInDisk++;
        long start = Bat.offsetOf(e);
        if (previousEnd >= 0 && start != previousEnd) {
          fragmented++;
        }
        previousEnd = start + footprint;
      }
      if (n == keys.length) {
        keys = Arrays.copyOf(keys, (int) Math.min(bat.size(), 2L * keys.length));
      }
      keys[n++] = Integer.toUnsignedLong(e) << 24 | i;
    }
    sorted = Arrays.copyOf(keys, n);
    Arrays.sort(sorted);
    blocksEnd = layout.metadataEnd;
    long cursor = layout.metadataEnd;
    long maxEnd = -1;
    int maxOwner = -1;
    for (long key : sorted) {
      int block = (int) (key & 0xffffff);
      long start = (key >>> 24) * VpcFile.SECTOR;
      long end = start + footprint;
      place(layout, block, start, end, fileLength, footerAt, maxEnd, maxOwner);
      long gapEnd = Math.min(start, footerAt);
      if (gapEnd - cursor >= footprint) {
        holes.add(new Gap(cursor, gapEnd));
      }
      cursor = Math.max(cursor, end);
      if (end > maxEnd) {
        maxEnd = end;
        maxOwner = block;
      }
      blocksEnd = Math.max(blocksEnd, end);
    }
    if (footerAt > cursor) {
      tail = new Gap(cursor, footerAt);
    }
  }

  private void place(VpcFile layout, int block, long start, long end, long fileLength,
      long footerAt, long maxEnd, int maxOwner) {
    String where = "block " + block + ": its " + layout.bitmapBytes + "-byte bitmap and "
        + layout.blockSize + " bytes of data at file offset " + start + ".." + end;
    if (start + layout.bitmapBytes > fileLength) {
      flag(block, Kind.UNREADABLE, where + " lie past the end of the file (" + fileLength
          + " bytes)");
    } else if (end > fileLength) {
      flag(block, Kind.CUT_SHORT, where + " reach past the end of the file (" + fileLength
          + " bytes): the image is truncated");
    } else if (end > footerAt) {
      flag(block, Kind.OVERLAPS_FOOTER, where + " overlap the footer at the end of the file "
          + "(offset " + footerAt + ")");
    }
    if (start < maxEnd) {
      flag(block, Kind.OVERLAPS_BLOCK, where + " overlap block " + maxOwner + " (which ends at "
          + maxEnd + ")");
      unsafe.set(maxOwner);
    }
    for (VpcFile.Region r : layout.metadata) {
      if (start < r.end() && r.start() < end) {
        flag(block, Kind.OVERLAPS_METADATA, where + " overlap " + r.name() + " (bytes "
            + r.start() + ".." + r.end() + ")");
        break;
      }
    }
  }

  private void flag(int block, Kind kind, String message) {
    findings.add(new Finding(block, kind, message));
    unsafe.set(block);
  }

  /** Blocks that must not be written before a repair (flagged ones and those they overlap). */
  BitSet unsafe() {
    return (BitSet) unsafe.clone();
  }

  /** The end of the last block, or of the metadata when no block lies past it. */
  long blocksEnd() {
    return blocksEnd;
  }

  /** The allocated block that lies last in the file, or -1. */
  int lastBlock() {
    return sorted.length == 0 ? -1 : (int) (sorted[sorted.length - 1] & 0xffffff);
  }

  /** Where that block starts, or -1. */
  long lastBlockStart() {
    return sorted.length == 0 ? -1 : (sorted[sorted.length - 1] >>> 24) * VpcFile.SECTOR;
  }

  int allocatedInDisk() {
    return allocatedInDisk;
  }

  int fragmented() {
    return fragmented;
  }

  /** Leaked bytes: the holes and the tail. */
  long leakedBytes() {
    long sum = tail == null ? 0 : tail.length();
    for (Gap g : holes) {
      sum += g.length();
    }
    return sum;
  }
}
