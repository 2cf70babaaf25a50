package io.blockkit.vdi;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
  /** Findings of one kind with a detailed message; then short ones up to MAX_MESSAGES_PER_KIND. */
  private static final int DETAILED_MESSAGES_PER_KIND = 100;
  /** Findings of one kind with a message of their own; the rest are counted in one summary line. */
  private static final int MAX_MESSAGES_PER_KIND = 10_000;
  /** Repaired entries are written and their map pages released at least this often. */
  private static final long FIX_BATCH_ENTRIES = 1 << 20;

  private final VdiImage image;
  private final VdiHeader h;

  VdiCheck(VdiImage image) {
    this.image = image;
    this.h = image.header;
  }

  /** What one pass over the map found. */
  private static final class Findings {
    final CheckReport.Builder report = new CheckReport.Builder();
    long badEntries;
    long refEnd;
    long fileLength;
  }

  /**
   * Clears bad entries during a pass, writing them out in batches so that the pages a
   * pathological map pins stay few (a map may hold half a billion entries).
   */
  private final class Fixer {
    /**
     * FREE, or ZERO in a differencing image: there FREE means "ask the parent", so the image could
     * no longer be opened (backing images are unsupported) and older parent data would show.
     */
    final int cleared = h.isDifferencing() ? BlockMap.ZERO : BlockMap.FREE;
    long first = Long.MAX_VALUE;
    long last = -1;
    long fixed;

    void clear(long block) throws IOException {
      if (last >= 0 && block - first >= FIX_BATCH_ENTRIES) {
        flush();
      }
      image.map.set(block, cleared);
      first = Math.min(first, block);
      last = Math.max(last, block);
      fixed++;
    }

    void flush() throws IOException {
      if (last >= 0) {
        image.writeEntries(first, last);
        image.map.releasePinned();
      }
      first = Long.MAX_VALUE;
      last = -1;
    }
  }

  CheckReport run(CheckMode mode) throws IOException {
    Findings before = analyze(null);
    if (mode == CheckMode.REPORT || before.report.corruptions() + before.report.leaks() == 0) {
      return before.report.build();
    }
    List<String> repairs = new ArrayList<>();
    if (mode.repairsCorruptions() && before.badEntries > 0) {
      image.markRepaired();
      Fixer fixer = new Fixer();
      analyze(fixer);
      fixer.flush();
      image.file().flush();
      repairs.add("Repaired: " + fixer.fixed + " block map entries set to "
          + (fixer.cleared == BlockMap.FREE ? "FREE" : "ZERO"));
    }
    if (mode.repairsCorruptions() || before.report.corruptions() == 0) {
      // Every remaining entry is in range and unique: fill holes, fix the count, truncate.
      image.setNextFree(refEnd());
      long moved = image.packBlocks();
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
    Findings after = analyze(null);
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
    BlockMap.Cursor map = image.map.cursor();
    for (long b = 0; b < h.blocks; b++) {
      int e = map.get(b);
      if (BlockMap.isAllocated(e) && Integer.toUnsignedLong(e) < h.blocks) {
        end = Math.max(end, Integer.toUnsignedLong(e) + 1);
      }
    }
    return end;
  }

  /**
   * One pass over the map. Memory is bounded by a bit per physical block whatever the image
   * holds: messages are capped per kind (the counts are not), and the first owners of shared
   * blocks are looked up in one more pass for the reported ones only.
   *
   * @param fixer when not null, every bad entry is cleared as it is found (the first owner
   *     of a shared block keeps it)
   */
  private Findings analyze(Fixer fixer) throws IOException {
    Findings f = new Findings();
    CheckReport.Builder r = f.report;
    long fileLength = image.refreshFileLength();
    f.fileLength = fileLength;
    long size = h.virtualSize();
    long blockSize = h.blockSize;
    BitSet seen = new BitSet((int) h.blocks);
    List<long[]> duplicates = new ArrayList<>();
    long duplicateCount = 0;
    long allocated = 0;
    long fragmented = 0;
    long prev = -1;
    long outOfRange = 0;
    long pastEof = 0;
    BlockMap.Cursor map = image.map.cursor();
    for (long b = 0; b < h.blocks; b++) {
      int e = map.get(b);
      if (!BlockMap.isAllocated(e)) {
        continue;
      }
      long p = Integer.toUnsignedLong(e);
      long entryOffset = h.blocksOffset + 4 * b;
      if (p >= h.blocks) {
        f.badEntries++;
        if (outOfRange < DETAILED_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": block map entry (at offset " + entryOffset + ") is " + p
              + ", out of range (physical blocks are numbered below blocks_in_image, " + h.blocks
              + ")");
        } else if (outOfRange < MAX_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": entry out of range");
        }
        outOfRange++;
        if (fixer != null) {
          fixer.clear(b);
        }
        continue;
      }
      if (seen.get((int) p)) {
        f.badEntries++;
        if (duplicateCount++ < DETAILED_MESSAGES_PER_KIND) {
          duplicates.add(new long[] {b, p});
        } else if (duplicateCount <= MAX_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": physical block " + p + " is used twice");
        }
        if (fixer != null) {
          fixer.clear(b);
        }
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
        f.badEntries++;
        if (pastEof < DETAILED_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": data of physical block " + p + " at file offset "
              + dataStart + ".." + (dataStart + needed) + " lie past the end of the file ("
              + fileLength + " bytes)");
        } else if (pastEof < MAX_MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": data past the end of the file");
        }
        pastEof++;
        if (fixer != null) {
          fixer.clear(b);
        }
      }
    }
    summarizeCorruptions(r, outOfRange, "block map entries out of range");
    summarizeCorruptions(r, pastEof, "blocks whose data lie past the end of the file");
    Map<Long, Long> owners = firstOwners(duplicates);
    for (long[] d : duplicates) {
      r.corruption("block " + d[0] + ": physical block " + d[1] + " is also used by block "
          + owners.get(d[1]));
    }
    summarizeCorruptions(r, duplicateCount,
        "block map entries using a physical block another entry uses");
    long refEnd = seen.length();
    f.refEnd = refEnd;
    long total = h.totalBlockSize();
    long fileBlocks = fileLength > h.dataOffset
        ? (fileLength - h.dataOffset + total - 1) / total : 0;
    long count = image.headerCount();
    if (count < refEnd) {
      r.corruption("header.blocks_allocated is " + count + " but the block map uses physical "
          + "block " + (refEnd - 1) + " (expected at least " + refEnd + "); the next new block "
          + "would overwrite data");
    }
    long holes = refEnd - seen.cardinality();
    if (holes > 0) {
      int shown = 0;
      for (int p = seen.nextClearBit(0); p < refEnd && shown < MAX_MESSAGES_PER_KIND;
          p = seen.nextClearBit(p + 1)) {
        if (shown++ < DETAILED_MESSAGES_PER_KIND) {
          r.leak("physical block " + p + " (file offset " + image.dataOffset(p)
              + ") is not used by any block");
        } else {
          r.leak("physical block " + p + " is not used");
        }
      }
      if (holes > shown) {
        r.leaks(holes - shown, "... and " + (holes - shown) + " more physical blocks not used "
            + "by any block");
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

  /** Counts the findings of one kind past those with a message of their own, in one line. */
  private static void summarizeCorruptions(CheckReport.Builder r, long found, String what) {
    if (found > MAX_MESSAGES_PER_KIND) {
      long more = found - MAX_MESSAGES_PER_KIND;
      r.corruptions(more, "... and " + more + " more " + what);
    }
  }

  /** The first block using each of the given physical blocks, found in one pass at most. */
  private Map<Long, Long> firstOwners(List<long[]> duplicates) throws IOException {
    Map<Long, Long> owners = new HashMap<>();
    Set<Long> wanted = new HashSet<>();
    for (long[] d : duplicates) {
      wanted.add(d[1]);
    }
    BlockMap.Cursor map = image.map.cursor();
    for (long b = 0; b < h.blocks && owners.size() < wanted.size(); b++) {
      long p = Integer.toUnsignedLong(map.get(b));
      if (wanted.contains(p)) {
        owners.putIfAbsent(p, b);
      }
    }
    return owners;
  }
}
