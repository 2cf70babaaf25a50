package io.blockkit.vdi;

import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Repairs what {@link VdiCheck} found without losing a byte that reads (the package
 * documentation has the table of what each repair keeps). The caller holds the image's layout
 * lock exclusively.
 *
 * <p>Stages, each durable before the next: the physical block that the end of the file cuts
 * short is padded with zeros to its full size; one pass over the map gives every entry sharing
 * a physical block with an earlier entry a copy of that block in a physical block no entry uses
 * (data, flush, then header and entries), and sets the entries nothing of which reads to FREE;
 * then compaction fills holes, fixes blocks_allocated and truncates. A crash at any point leaves
 * at worst leaks and the corruptions not repaired yet.
 */
final class VdiRepair implements VdiCheck.Fix {
  /** Repaired entries are written and their map pages released at least this often. */
  private static final long FIX_BATCH_ENTRIES = 1 << 20;

  private final VdiImage image;
  private final VdiHeader h;
  private final VdiCheck check;
  private final List<String> messages = new ArrayList<>();
  /**
   * What an entry nothing of which reads becomes: FREE, or ZERO in a differencing image, where
   * FREE means "ask the parent", which would show the parent's older data there.
   */
  private final int cleared;

  /** Physical blocks taken: by the first entry using them, or by a copy made here. */
  private BitSet used;
  private int nextHole;
  /** The file's length once the block it cut short was padded: nothing past it ever read. */
  private long readableEnd;
  private ByteBuffer buffer;
  private long first = Long.MAX_VALUE;
  private long last = -1;
  private boolean copiedSinceWrite;
  private long clearedCount;
  private long copies;

  VdiRepair(VdiImage image, VdiCheck check) {
    this.image = image;
    this.h = image.header;
    this.check = check;
    this.cleared = h.isDifferencing() ? BlockMap.ZERO : BlockMap.FREE;
  }

  /**
   * Repairs what {@code before} found that {@code mode} allows.
   *
   * @return one line per repair (capped per kind, like the findings)
   */
  List<String> run(CheckMode mode, VdiCheck.Findings before) throws IOException {
    if (mode.repairsCorruptions() && before.badEntries > 0) {
      image.markRepaired();
      padBlockCutShort(before);
      used = before.used;
      readableEnd = image.refreshFileLength();
      check.analyze(this);
      writeFixedEntries();
      image.file().flush();
      if (copies > VdiCheck.MESSAGES_PER_KIND) {
        messages.add("Repaired: " + VdiCheck.more(copies, "blocks given a copy of a physical "
            + "block another block uses"));
      }
      if (clearedCount > 0) {
        messages.add("Repaired: " + clearedCount + " block map entries with nothing readable "
            + "set to " + (cleared == BlockMap.FREE ? "FREE" : "ZERO"));
      }
    }
    if (mode.repairsCorruptions() || before.report.corruptions() == 0) {
      // Every remaining entry is in range, unique and inside the file: fill holes, fix the
      // count, truncate.
      image.setNextFree(refEnd());
      long moved = image.compactor().pack();
      if (moved > 0) {
        messages.add("Repaired: moved " + moved + " blocks into unused space");
      }
    } else {
      // Corruptions stay; only space past every block anything refers to is reclaimed.
      long keep = Math.max(before.refEnd, image.headerCount());
      long end = h.dataOffset + keep * h.totalBlockSize();
      if (before.fileLength > end && image.file().capabilities().contains(Capability.RESIZE)) {
        image.file().truncate(end);
        image.refreshFileLength();
        messages.add("Repaired: file truncated from " + before.fileLength + " to " + end
            + " bytes");
      }
    }
    image.file().flush();
    return messages;
  }

  /**
   * Keeps what the file holds of the block it cuts short: the rest of the block becomes zeros
   * (what a salvaging reader, and qemu-img, read there) instead of the block going.
   */
  private void padBlockCutShort(VdiCheck.Findings f) throws IOException {
    if (f.cutPhys < 0) {
      return;
    }
    long end = h.dataOffset + (f.cutPhys + 1) * h.totalBlockSize();
    long stored = f.fileLength - image.dataOffset(f.cutPhys);
    growTo(end);
    messages.add("Repaired: block " + f.cutBlock + ": physical block " + f.cutPhys + " was cut "
        + "short by the end of the file (" + stored + " of " + h.blockSize + " bytes stored); "
        + "padded with zeros to its full size");
  }

  /** Grows the file to {@code end} with zeros (as new blocks grow it) when it is shorter. */
  private void growTo(long end) throws IOException {
    long length = image.refreshFileLength();
    if (length < end) {
      image.file().writeZeroes(length, end - length);
      image.refreshFileLength();
    }
  }

  @Override
  public void outOfRange(long block) throws IOException {
    clear(block);
  }

  /** Only a block wholly past the end comes here: the block the end cuts was padded. */
  @Override
  public void pastEnd(long block, long phys) throws IOException {
    clear(block);
  }

  /**
   * Gives the entry a copy of the shared block, so that both entries read what they read
   * before. The copy goes into the lowest physical block no entry uses (leaked space, or past
   * the end of the file); one exists below blocks_in_image, since every entry takes at most one
   * physical block.
   */
  @Override
  public void shared(long block, long phys) throws IOException {
    if (image.dataOffset(phys) >= readableEnd) {
      clear(block);
      return;
    }
    int to = used.nextClearBit(nextHole);
    used.set(to);
    nextHole = to + 1;
    if (buffer == null) {
      buffer = image.compactor().newCopyBuffer();
    }
    // Counted before the entry is written, so the header's count covers the copy first.
    image.setNextFree(Math.max(image.nextFreeBlock(), to + 1L));
    image.compactor().copyBlock(phys, to, buffer);
    growTo(h.dataOffset + (to + 1L) * h.totalBlockSize());
    copiedSinceWrite = true;
    set(block, to);
    if (copies++ < VdiCheck.MESSAGES_PER_KIND) {
      messages.add("Repaired: block " + block + ": now reads a copy of physical block " + phys
          + " (which another block uses) in physical block " + to);
    }
  }

  private void clear(long block) throws IOException {
    set(block, cleared);
    clearedCount++;
  }

  /**
   * Changes an entry in memory; changed entries are written in batches, so that the pages a
   * pathological map pins stay few (a map may hold half a billion entries).
   */
  private void set(long block, int entry) throws IOException {
    if (last >= 0 && block - first >= FIX_BATCH_ENTRIES) {
      writeFixedEntries();
    }
    image.map.set(block, entry);
    first = Math.min(first, block);
    last = Math.max(last, block);
  }

  private void writeFixedEntries() throws IOException {
    if (last < 0) {
      return;
    }
    if (copiedSinceWrite) {
      // The copies must be on disk before entries that use them.
      image.file().flush();
      copiedSinceWrite = false;
    }
    image.writeEntries(first, last);
    image.map.releasePinned();
    first = Long.MAX_VALUE;
    last = -1;
  }

  /** One past the highest physical block an in-range entry uses. */
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
}
