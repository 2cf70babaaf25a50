package io.blockkit.vdi;

import io.blockkit.api.Capability;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.vdi.VdiJournal.Changes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Gives space back: {@link #compact} (VBoxManage modifymedium --compact) releases blocks that
 * read as zeros (and, in a differencing image, blocks identical to the parent's), and {@link
 * #pack} moves the highest physical blocks into the holes, lowers {@code blocks_allocated} and
 * truncates the file. Discards and repairs pack too.
 *
 * <p>Crash model: entries that release blocks are written and flushed before any data moves;
 * each batch of moves is copied and flushed before the entries that use the copies are written;
 * the count falls only after the map stopped using the blocks past it; the file is truncated
 * last. A crash at any point leaves at worst leaks (blocks nothing uses, a count above the
 * blocks in use), which check reports and repair removes.
 */
final class VdiCompactor {
  private static final int COPY_CHUNK = 1 << 20;
  /** Blocks moved per pass over the map. */
  private static final int BATCH = 1 << 18;
  /** Blocks whose entries compaction changes under one hold of the exclusive lock. */
  private static final int RELEASE_BATCH = 1 << 12;

  private final VdiImage image;
  private final VdiJournal journal;

  VdiCompactor(VdiImage image, VdiJournal journal) {
    this.image = image;
    this.journal = journal;
  }

  /**
   * Releases every allocated block that reads as zeros (ZERO entry) or, in a differencing image
   * with its parent open, as the parent's bytes (FREE entry), then packs. Writers wait for the
   * whole compaction; readers go on, held off only while entries change (a batch of released
   * blocks, a batch of moved blocks, the new count and the truncation).
   *
   * @return the number of blocks released
   */
  long compact() throws IOException {
    VdiHeader h = image.header;
    if (h.type == VdiHeader.TYPE_FIXED) {
      throw new UnsupportedFeatureException("VDI image '" + image.location() + "' is a fixed "
          + "image: its blocks are preallocated and stay; convert it to a dynamic image "
          + "(convert -O vdi) to get a compact copy");
    }
    return image.withoutWriters(() -> {
      long released = 0;
      ByteBuffer a = ByteBuffer.allocate((int) Math.min(COPY_CHUNK, h.blockSize));
      ByteBuffer b = ByteBuffer.allocate(a.capacity());
      long next = 0;
      while (next < h.blocks) {
        long[] found = new long[RELEASE_BATCH];
        int[] verdicts = new int[RELEASE_BATCH];
        int n = 0;
        for (; next < h.blocks && n < RELEASE_BATCH; next++) {
          int v = verdict(next, a, b);
          if (v != 0) {
            found[n] = next;
            verdicts[n++] = v;
          }
        }
        int count = n;
        released += count;
        image.withoutReaders(false, () -> {
          release(found, verdicts, count);
          return null;
        });
      }
      pack(new Changes(), false);
      return released;
    });
  }

  /** Sets and writes the entries of released blocks. Caller holds both locks exclusively. */
  private void release(long[] blocks, int[] verdicts, int n) throws IOException {
    Changes changes = new Changes();
    for (int i = 0; i < n; i++) {
      journal.markModified(changes);
      image.map.set(blocks[i], verdicts[i]);
      changes.entry(blocks[i]);
    }
    journal.commit(changes);
  }

  /**
   * What an allocated block can become: {@link BlockMap#ZERO} when it reads as zeros, {@link
   * BlockMap#FREE} when a differencing image's parent reads the same, else 0 (keep it). Blocks
   * whose data the file does not hold whole are kept (check reports them).
   */
  private int verdict(long block, ByteBuffer a, ByteBuffer b) throws IOException {
    int entry = image.map.get(block);
    VdiHeader h = image.header;
    if (!BlockMap.isAllocated(entry) || Integer.toUnsignedLong(entry) >= h.blocks) {
      return 0;
    }
    long start = block << image.shift();
    long length = Math.min(h.blockSize, image.size() - start);
    long host = image.dataOffset(Integer.toUnsignedLong(entry));
    if (length <= 0 || host + length > image.fileLength()) {
      return 0;
    }
    boolean zero = true;
    boolean parent = h.isDifferencing() && image.backing().isPresent();
    for (long done = 0; done < length && (zero || parent); done += a.capacity()) {
      int n = (int) Math.min(a.capacity(), length - done);
      a.clear().limit(n);
      image.file().read(host + done, a);
      a.flip();
      zero = zero && VdiWriter.isAllZero(a);
      if (parent) {
        b.clear().limit(n);
        image.readParent(start + done, b);
        b.flip();
        parent = a.equals(b);
      }
    }
    return zero ? BlockMap.ZERO : parent ? BlockMap.FREE : 0;
  }

  /**
   * For repair and resize: fills holes, fixes the count and truncates. Caller holds both locks
   * exclusively.
   */
  long pack() throws IOException {
    return pack(new Changes(), true);
  }

  /** {@link #pack(Changes, boolean)} for a caller holding both locks exclusively. */
  long pack(Changes freed) throws IOException {
    return pack(freed, true);
  }

  /**
   * Moves the highest physical blocks into unreferenced physical blocks below them, then rewrites
   * blocks_allocated and truncates the file after the last block in use. Order: every unwritten
   * map entry (those that freed blocks among them), flush, copy data, flush, map, header, flush,
   * truncate, so a crash at any point leaves at worst a leak. The count falls only once the map
   * written to the file has stopped using the blocks past it, so no new block can go where the
   * file still keeps an old one.
   *
   * <p>Readers go on while blocks are copied: a block's old place stays as it was until its entry
   * points at the copy, entries change with readers held off ({@code held}: the caller holds both
   * locks; else it holds the change lock and each change takes the layout lock), and a reader
   * that started before such a change reads again.
   *
   * @return the number of blocks moved
   */
  long pack(Changes freed, boolean held) throws IOException {
    VdiHeader h = image.header;
    BlockMap map = image.map;
    journal.markModified(freed);
    // The entries that freed blocks (and any other unwritten metadata) must be durable before
    // moved data overwrites those blocks.
    journal.commit(freed);
    journal.writePending();
    image.file().flush();
    long count = Math.min(journal.nextFree.get(), h.blocks);
    // A bit per physical block: bounded memory even for half a billion blocks.
    BitSet used = new BitSet((int) count);
    BlockMap.Cursor scan = map.cursor();
    for (long b = 0; b < map.size(); b++) {
      int e = scan.get(b);
      if (BlockMap.isAllocated(e) && Integer.toUnsignedLong(e) < count) {
        used.set(e);
      }
    }
    long moved = 0;
    ByteBuffer buffer = null;
    while (true) {
      // Pair the lowest holes with the highest blocks in use, a batch at a time.
      int[] from = new int[BATCH];
      int[] to = new int[BATCH];
      int n = 0;
      int top = used.length() - 1;
      int hole = used.nextClearBit(0);
      while (n < BATCH && hole < top) {
        from[n] = top;
        to[n] = hole;
        n++;
        top = used.previousSetBit(top - 1);
        hole = used.nextClearBit(hole + 1);
      }
      if (n == 0) {
        break;
      }
      long[] owners = ownersOf(map, from, n);
      if (buffer == null) {
        buffer = newCopyBuffer();
      }
      for (int i = 0; i < n; i++) {
        copyBlock(from[i], to[i], buffer);
      }
      image.file().flush();
      int batch = n;
      image.withoutReaders(held, () -> {
        for (int i = 0; i < batch; i++) {
          map.set(owners[i], to[i]);
          used.clear(from[i]);
          used.set(to[i]);
        }
        writeMovedEntries(owners);
        // Everything set so far is written (a failure would have thrown): pages may be dropped.
        map.releasePinned();
        return null;
      });
      moved += n;
    }
    long newCount = used.length();
    image.withoutReaders(held, () -> {
      journal.nextFree.set(newCount);
      journal.commit(Changes.header());
      image.file().flush();
      long newLength = h.dataOffset + newCount * h.totalBlockSize();
      if (image.fileLength() > newLength
          && image.file().capabilities().contains(Capability.RESIZE)) {
        image.file().truncate(newLength);
        image.setFileLength(newLength);
      }
      return null;
    });
    return moved;
  }

  /**
   * The virtual block using each of {@code phys[0..n)} (strictly decreasing physical indexes), in
   * one pass over the map.
   */
  private static long[] ownersOf(BlockMap map, int[] phys, int n) throws IOException {
    long[] owners = new long[n];
    Arrays.fill(owners, -1);
    BlockMap.Cursor scan = map.cursor();
    for (long b = 0; b < map.size(); b++) {
      int e = scan.get(b);
      if (!BlockMap.isAllocated(e) || e < phys[n - 1] || e > phys[0]) {
        continue;
      }
      // phys is decreasing: search its negation, which increases.
      int lo = 0;
      int hi = n - 1;
      while (lo <= hi) {
        int mid = (lo + hi) >>> 1;
        if (phys[mid] > e) {
          lo = mid + 1;
        } else if (phys[mid] < e) {
          hi = mid - 1;
        } else {
          owners[mid] = b;
          break;
        }
      }
    }
    return owners;
  }

  /**
   * Writes the map sectors holding the given entries, one write per cluster of nearby entries. If
   * a write fails, the clusters not written yet stay dirty with it, so a later commit or flush
   * writes them.
   */
  private void writeMovedEntries(long[] blocks) throws IOException {
    long[] sorted = blocks.clone();
    Arrays.sort(sorted);
    int i = 0;
    while (i < sorted.length) {
      int j = i;
      while (j + 1 < sorted.length && sorted[j + 1] - sorted[j] <= 128) {
        j++;
      }
      try {
        journal.commit(Changes.entries(sorted[i], sorted[j]));
      } catch (IOException e) {
        if (j + 1 < sorted.length) {
          journal.markDirty(Changes.entries(sorted[j + 1], sorted[sorted.length - 1]));
        }
        throw e;
      }
      i = j + 1;
    }
  }

  /** A buffer for {@link #copyBlock}: a block, at most 1 MiB. */
  ByteBuffer newCopyBuffer() {
    return ByteBuffer.allocate((int) Math.min(COPY_CHUNK, image.header.totalBlockSize()));
  }

  /**
   * Copies physical block {@code from} (extra area included) over block {@code to} through
   * {@code buffer}. A source cut short by the end of the file (possible only for blocks wholly
   * past the virtual size, which check accepts) is copied as far as the file goes; the rest of
   * the destination that the file holds is zeroed, so no stale bytes of the block that was there
   * remain, and nothing is written past the end: moving such a block must not grow the file by a
   * whole block of zeros.
   */
  void copyBlock(long from, long to, ByteBuffer buffer) throws IOException {
    VdiHeader h = image.header;
    long total = h.totalBlockSize();
    long src = h.dataOffset + from * total;
    long dst = h.dataOffset + to * total;
    long eof = image.fileLength();
    long stored = Math.max(0, Math.min(total, eof - src));
    for (long done = 0; done < stored; done += buffer.capacity()) {
      int n = (int) Math.min(buffer.capacity(), stored - done);
      buffer.clear().limit(n);
      image.file().read(src + done, buffer);
      buffer.flip();
      image.file().write(dst + done, buffer);
    }
    long zeroEnd = Math.min(dst + total, eof);
    if (dst + stored < zeroEnd) {
      image.file().writeZeroes(dst + stored, zeroEnd - dst - stored);
    }
    image.fileGrewTo(dst + stored);
  }
}
