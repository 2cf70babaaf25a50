package io.blockkit.vdi;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Checks and repairs one open image. The caller holds the image's layout lock exclusively.
 *
 * <p>Findings: corruptions are entries that point outside the physical blocks
 * ({@code >= blocks_in_image}), physical blocks referenced by more than one entry, blocks whose
 * data lie past the end of the file, and a {@code blocks_allocated} below the highest physical
 * block in use (the next allocation would overwrite data). Leaks are physical blocks nobody
 * references (holes), space after the last block in use, and a {@code blocks_allocated} above the
 * blocks that exist.
 */
final class VdiCheck {
  private static final int MAX_MESSAGES_PER_KIND = 100;

  private final VdiImage image;
  private final VdiHeader h;

  VdiCheck(VdiImage image) {
    this.image = image;
    this.h = image.header;
  }

  /** What one pass over the map found. */
  private static final class Findings {
    final CheckReport.Builder report = new CheckReport.Builder();
    final List<Long> badEntries = new ArrayList<>();
    long refEnd;
    long fileLength;
    boolean countTooSmall;
    int messagesOfKind;
  }

  CheckReport run(CheckMode mode) throws IOException {
    image.map.loadAll();
    Findings before = analyze();
    if (mode == CheckMode.REPORT || before.report.corruptions() + before.report.leaks() == 0) {
      return before.report.build();
    }
    List<String> repairs = new ArrayList<>();
    if (mode.repairsCorruptions() && !before.badEntries.isEmpty()) {
      // In a differencing image FREE means "ask the parent": the image could no longer be opened
      // (backing images are unsupported), and older parent data would show through. ZERO instead.
      int cleared = h.isDifferencing() ? BlockMap.ZERO : BlockMap.FREE;
      long first = Long.MAX_VALUE;
      long last = -1;
      for (long b : before.badEntries) {
        image.map.set(b, cleared);
        first = Math.min(first, b);
        last = Math.max(last, b);
      }
      image.markRepaired();
      image.map.writeRange(first, last);
      image.file().flush();
      repairs.add("Repaired: " + before.badEntries.size() + " block map entries set to "
          + (cleared == BlockMap.FREE ? "FREE" : "ZERO"));
    }
    if (mode.repairsCorruptions() || before.report.corruptions() == 0) {
      // Every remaining entry is in range and unique: fill holes, fix the count, truncate.
      image.setNextFree(refEnd());
      long moved = image.compact();
      if (moved > 0) {
        repairs.add("Repaired: moved " + moved + " blocks into unused space");
      }
    } else {
      // Corruptions stay; only space past every block anything refers to is reclaimed.
      long keep = Math.max(before.refEnd, image.headerCount());
      long end = h.dataOffset + keep * h.totalBlockSize();
      if (before.fileLength > end && image.truncateFile(end)) {
        repairs.add("Repaired: file truncated from " + before.fileLength + " to " + end + " bytes");
      }
    }
    image.file().flush();
    Findings after = analyze();
    CheckReport a = after.report.build();
    CheckReport b = before.report.build();
    List<String> messages = new ArrayList<>(repairs);
    messages.addAll(a.messages());
    return new CheckReport(a.corruptions(), a.leaks(), a.checkErrors(),
        Math.max(0, b.corruptions() - a.corruptions()), Math.max(0, b.leaks() - a.leaks()),
        a.imageEndOffset(), a.totalClusters(), a.allocatedClusters(), a.fragmentedClusters(),
        messages);
  }

  private long refEnd() throws IOException {
    long end = 0;
    for (long b = 0; b < h.blocks; b++) {
      int e = image.map.get(b);
      if (BlockMap.isAllocated(e) && Integer.toUnsignedLong(e) < h.blocks) {
        end = Math.max(end, Integer.toUnsignedLong(e) + 1);
      }
    }
    return end;
  }

  private Findings analyze() throws IOException {
    Findings f = new Findings();
    CheckReport.Builder r = f.report;
    long fileLength = image.refreshFileLength();
    f.fileLength = fileLength;
    long size = h.virtualSize();
    long blockSize = h.blockSize;
    BitSet seen = new BitSet((int) h.blocks);
    List<long[]> duplicates = new ArrayList<>();
    long allocated = 0;
    long fragmented = 0;
    long prev = -1;
    int outOfRange = 0;
    int pastEof = 0;
    for (long b = 0; b < h.blocks; b++) {
      int e = image.map.get(b);
      if (!BlockMap.isAllocated(e)) {
        continue;
      }
      long p = Integer.toUnsignedLong(e);
      long entryOffset = h.blocksOffset + 4 * b;
      if (p >= h.blocks) {
        f.badEntries.add(b);
        if (outOfRange++ < MAX_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": block map entry (at offset " + entryOffset + ") is " + p
              + ", out of range (physical blocks are numbered below blocks_in_image, " + h.blocks
              + ")");
        } else {
          r.corruption("block " + b + ": entry out of range");
        }
        continue;
      }
      if (seen.get((int) p)) {
        f.badEntries.add(b);
        duplicates.add(new long[] {b, p});
        continue;
      }
      seen.set((int) p);
      allocated++;
      if (prev >= 0 && p != prev + 1) {
        fragmented++;
      }
      prev = p;
      long needed = Math.min(blockSize, size - b * blockSize);
      long dataStart = image.dataOffset(p);
      if (needed > 0 && dataStart + needed > fileLength) {
        f.badEntries.add(b);
        if (pastEof++ < MAX_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": data of physical block " + p + " at file offset "
              + dataStart + ".." + (dataStart + needed) + " lie past the end of the file ("
              + fileLength + " bytes)");
        } else {
          r.corruption("block " + b + ": data past the end of the file");
        }
      }
    }
    for (long[] d : duplicates) {
      long firstOwner = firstOwner(d[1]);
      r.corruption("block " + d[0] + ": physical block " + d[1] + " is also used by block "
          + firstOwner);
    }
    long refEnd = seen.length();
    f.refEnd = refEnd;
    long total = h.totalBlockSize();
    long fileBlocks = fileLength > h.dataOffset
        ? (fileLength - h.dataOffset + total - 1) / total : 0;
    long count = image.headerCount();
    if (count < refEnd) {
      f.countTooSmall = true;
      r.corruption("header.blocks_allocated is " + count + " but the block map uses physical "
          + "block " + (refEnd - 1) + " (expected at least " + refEnd + "); the next new block "
          + "would overwrite data");
    }
    long holes = refEnd - seen.cardinality();
    if (holes > 0) {
      int shown = 0;
      for (int p = seen.nextClearBit(0); p < refEnd; p = seen.nextClearBit(p + 1)) {
        if (shown++ < MAX_MESSAGES_PER_KIND) {
          r.leak("physical block " + p + " (file offset " + image.dataOffset(p)
              + ") is not used by any block");
        } else {
          r.leak("physical block " + p + " is not used");
        }
      }
    }
    long imageEnd = h.dataOffset + refEnd * total;
    if (fileBlocks > refEnd) {
      r.leaks(fileBlocks - refEnd, (fileBlocks - refEnd) + " block(s) of space after the last "
          + "block in use: file offset " + imageEnd + ".." + fileLength);
    }
    long existing = Math.max(refEnd, fileBlocks);
    if (count > existing) {
      r.leaks(count - existing, "header.blocks_allocated is " + count + " but only " + existing
          + " physical block(s) exist");
    } else if (count > refEnd) {
      r.info("header.blocks_allocated is " + count + " but only " + refEnd
          + " physical block(s) are in use");
    }
    r.imageEndOffset(Math.max(imageEnd, h.blocksOffset + 4 * h.blocks));
    r.clusters(h.blocks, allocated, fragmented);
    return f;
  }

  private long firstOwner(long phys) throws IOException {
    for (long b = 0; b < h.blocks; b++) {
      if (Integer.toUnsignedLong(image.map.get(b)) == phys) {
        return b;
      }
    }
    return -1;
  }
}
