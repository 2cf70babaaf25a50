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
 * Checks one open image, and has {@link VdiRepair} repair it. The caller holds the image's layout
 * lock exclusively.
 *
 * <p>Findings: corruptions are entries that point outside the physical blocks
 * ({@code >= blocks_in_image}), physical blocks referenced by more than one entry, blocks whose
 * data lie past the end of the file, and a {@code blocks_allocated} below the highest physical
 * block in use (the next allocation would overwrite data). Leaks are physical blocks nobody
 * references (holes), space after the last block in use, and a {@code blocks_allocated} above the
 * blocks that exist.
 *
 * <p>Messages are for people: each kind of finding lists its first {@link #MESSAGES_PER_KIND}
 * and counts the rest in one "... and N more" line; the counts are always exact.
 */
final class VdiCheck {
  /** Findings (and repairs) of one kind with a line of their own; one line counts the rest. */
  static final int MESSAGES_PER_KIND = 20;

  private final VdiImage image;
  private final VdiHeader h;

  VdiCheck(VdiImage image) {
    this.image = image;
    this.h = image.header;
  }

  /** What one pass over the map found. */
  static final class Findings {
    final CheckReport.Builder report = new CheckReport.Builder();
    /** Entries a repair of corruptions must change. */
    long badEntries;
    /** One past the highest physical block a valid entry uses. */
    long refEnd;
    long fileLength;
    /** The physical blocks valid entries use (each block's first owner). */
    BitSet used;
    /** The physical block the end of the file cuts short, its first owner, or -1. */
    long cutPhys = -1;
    long cutBlock = -1;
  }

  /** What a repairing pass does with each bad entry, as it meets it. */
  interface Fix {
    /** The entry is at or above blocks_in_image: no offset of the file belongs to it. */
    void outOfRange(long block) throws IOException;

    /** The entry uses physical block {@code phys}, which an earlier entry uses too. */
    void shared(long block, long phys) throws IOException;

    /** The data of physical block {@code phys}, which the entry uses first, lie past the end. */
    void pastEnd(long block, long phys) throws IOException;
  }

  CheckReport run(CheckMode mode) throws IOException {
    Findings before = analyze(null);
    CheckReport b = before.report.build();
    if (mode == CheckMode.REPORT || b.corruptions() + b.leaks() == 0) {
      return b;
    }
    // What was found, what was repaired, then what remains.
    List<String> messages = new ArrayList<>(b.messages());
    messages.addAll(new VdiRepair(image, this).run(mode, before));
    CheckReport a = analyze(null).report.build();
    messages.addAll(a.messages());
    return new CheckReport(a.corruptions(), a.leaks(), a.checkErrors(),
        Math.max(0, b.corruptions() - a.corruptions()), Math.max(0, b.leaks() - a.leaks()),
        a.imageEndOffset(), a.totalClusters(), a.allocatedClusters(), a.fragmentedClusters(),
        messages);
  }

  /**
   * One pass over the map. Memory is bounded by a bit per physical block whatever the image
   * holds: messages are capped per kind (the counts are not), and the first owners of shared
   * blocks are looked up in one more pass for the reported ones only.
   *
   * @param fix when not null, is told of every bad entry as the pass meets it (the first owner
   *     of a shared block is the entry that keeps it)
   */
  Findings analyze(Fix fix) throws IOException {
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
        if (outOfRange++ < MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": block map entry (at offset " + entryOffset + ") is " + p
              + ", out of range (physical blocks are numbered below blocks_in_image, " + h.blocks
              + ")");
        }
        if (fix != null) {
          fix.outOfRange(b);
        }
        continue;
      }
      if (seen.get((int) p)) {
        f.badEntries++;
        if (duplicateCount++ < MESSAGES_PER_KIND) {
          duplicates.add(new long[] {b, p});
        }
        if (fix != null) {
          fix.shared(b, p);
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
        if (dataStart < fileLength) {
          // At most one physical block holds the end of the file.
          f.cutPhys = p;
          f.cutBlock = b;
        }
        if (pastEof++ < MESSAGES_PER_KIND) {
          r.corruption("block " + b + ": data of physical block " + p + " at file offset "
              + dataStart + ".." + (dataStart + needed) + " lie past the end of the file ("
              + fileLength + " bytes)");
        }
        if (fix != null) {
          fix.pastEnd(b, p);
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
    f.used = seen;
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
      for (int p = seen.nextClearBit(0); p < refEnd && shown < MESSAGES_PER_KIND;
          p = seen.nextClearBit(p + 1)) {
        shown++;
        r.leak("physical block " + p + " (file offset " + image.dataOffset(p)
            + ") is not used by any block");
      }
      if (holes > shown) {
        r.leaks(holes - shown, more(holes, "physical blocks not used by any block"));
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

  /**
   * The line that counts the findings of one kind past those with a line of their own, for
   * {@code found} findings in all.
   */
  static String more(long found, String what) {
    return "... and " + (found - MESSAGES_PER_KIND) + " more " + what;
  }

  /** Counts the corruptions of one kind past those with a message of their own, in one line. */
  private static void summarizeCorruptions(CheckReport.Builder r, long found, String what) {
    if (found > MESSAGES_PER_KIND) {
      r.corruptions(found - MESSAGES_PER_KIND, more(found, what));
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
