package io.blockkit.vdi;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.vdi.VdiJournal.Changes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Changes the virtual size of an open image. Caller holds both of its locks exclusively.
 *
 * <p><b>Growing</b>: the map needs an entry per block. When the room between the map and the data
 * holds the new entries, they are written there (FREE; ZERO in a differencing image, whose new
 * area must read zeros whatever the parent holds there) and one header write switches to the new
 * size. Otherwise, as VirtualBox does, the first {@code k} physical blocks make room: each is
 * copied into a free physical block (data flushed before its entry changes), the whole new map is
 * written after the old one (into space no live block uses any more), and one header write
 * switches to the new map offset, data offset ({@code k} blocks later, so every entry drops by
 * {@code k}), block count and size. A crash before that header write leaves the old image intact
 * with at worst leaks; after it, the new one.
 *
 * <p><b>Shrinking</b> is allowed only when the part cut off holds no data in this image (its
 * allocated blocks read zeros); those blocks are released and packed first, then one header
 * write sets the new size.
 */
final class VdiResizer {
  private static final int CHUNK_ENTRIES = 1 << 16;

  private final VdiImage image;
  private final VdiJournal journal;

  VdiResizer(VdiImage image, VdiJournal journal) {
    this.image = image;
    this.journal = journal;
  }

  void resize(long newSize) throws IOException {
    VdiHeader h = image.header;
    if (newSize % VdiHeader.SECTOR_SIZE != 0 || newSize <= 0) {
      throw new InvalidOptionException("Cannot resize VDI image '" + image.location() + "' to "
          + newSize + " bytes: the size must be a positive multiple of 512");
    }
    long max = Math.min(VdiHeader.MAX_DISK_SIZE, VdiHeader.MAX_BLOCKS * h.blockSize);
    if (newSize > max) {
      throw new InvalidOptionException("Cannot resize VDI image '" + image.location() + "' to "
          + newSize + " bytes: the largest vdi image with " + h.blockSize + "-byte blocks is "
          + max + " bytes");
    }
    if (h.isV0()) {
      throw new UnsupportedFeatureException("Cannot resize VDI image '" + image.location()
          + "': it has a version 0.2 header, whose map and data offsets are fixed (VirtualBox "
          + "does not resize it either); convert it to a new image first");
    }
    long oldSize = image.size();
    if (newSize == oldSize) {
      return;
    }
    journal.writePending();
    image.file().flush();
    Changes changes = new Changes();
    journal.markModified(changes);
    journal.commit(changes);
    if (newSize > oldSize) {
      grow(oldSize, newSize);
    } else {
      shrink(newSize);
    }
  }

  // ---------------------------------------------------------------- growing

  private void grow(long oldSize, long newSize) throws IOException {
    VdiHeader h = image.header;
    long blocks = (newSize + h.blockSize - 1) / h.blockSize;
    zeroNewlyVisible(oldSize, newSize);
    int fresh = h.isDifferencing() ? BlockMap.ZERO : BlockMap.FREE;
    if (blocks <= h.blocks) {
      switchTo(h.withGeometry(newSize, h.blocks, h.blocksOffset, h.dataOffset), 0);
      return;
    }
    if (h.blocksOffset + 4 * blocks <= h.dataOffset) {
      // Room after the map: the new entries go there; the old header does not see them.
      long firstNew = -1;
      if (h.type == VdiHeader.TYPE_FIXED) {
        // A fixed image stays fixed: its new blocks are preallocated after the last one.
        firstNew = journal.nextFree.get();
        preallocate(h.dataOffset + (firstNew + blocks - h.blocks) * h.totalBlockSize());
      }
      writeEntries(h.blocksOffset, h.blocks, blocks, 0, fresh, firstNew);
      image.file().flush();
      if (firstNew >= 0) {
        journal.nextFree.set(firstNew + blocks - h.blocks);
      }
      switchTo(h.withGeometry(newSize, blocks, h.blocksOffset, h.dataOffset), 0);
      return;
    }
    long total = h.totalBlockSize();
    long mapOffset = align(h.blocksOffset + 4 * h.blocks, VdiHeader.SECTOR_SIZE);
    long k = (mapOffset + 4 * blocks - h.dataOffset + total - 1) / total;
    long dataOffset = h.dataOffset + k * total;
    if (dataOffset > 0xffffffffL) {
      throw new UnsupportedFeatureException("Cannot grow VDI image '" + image.location()
          + "' to " + newSize + " bytes: its data would start at offset " + dataOffset
          + ", past the 4 GiB a VDI header can record");
    }
    vacate(k);
    writeEntries(mapOffset, 0, blocks, k, fresh, -1);
    image.file().flush();
    switchTo(h.withGeometry(newSize, blocks, mapOffset, dataOffset), k);
  }

  /**
   * Zeros what growing makes visible inside blocks this image already has: the bytes of
   * allocated blocks past the old end (which no read returned, so they may hold anything), and
   * in a differencing image the FREE blocks past the old end, which would show the parent.
   */
  private void zeroNewlyVisible(long oldSize, long newSize) throws IOException {
    VdiHeader h = image.header;
    long end = Math.min(newSize, h.blocks * h.blockSize);
    Changes changes = new Changes();
    for (long pos = oldSize; pos < end; ) {
      long block = pos >>> image.shift();
      long blockEnd = Math.min((block + 1) << image.shift(), end);
      int e = image.map.get(block);
      if (BlockMap.isAllocated(e) && Integer.toUnsignedLong(e) < h.blocks) {
        long host = image.dataOffset(Integer.toUnsignedLong(e)) + (pos & (h.blockSize - 1));
        image.file().writeZeroes(host, blockEnd - pos);
      } else if (e == BlockMap.FREE && h.isDifferencing() && pos == block << image.shift()) {
        image.map.set(block, BlockMap.ZERO);
        changes.entry(block);
      }
      pos = blockEnd;
    }
    journal.commit(changes);
  }

  /**
   * Moves the blocks using physical blocks {@code [0, k)} into free physical blocks at or above
   * {@code k}: copies flushed, then each entry (and the count, first) written, as in a repair.
   */
  private void vacate(long k) throws IOException {
    VdiHeader h = image.header;
    image.compactor().pack();
    long count = journal.nextFree.get();
    long owners = 0;
    long[] owner = new long[(int) k];
    java.util.Arrays.fill(owner, -1);
    BlockMap.Cursor scan = image.map.cursor();
    for (long b = 0; b < h.blocks; b++) {
      int e = scan.get(b);
      if (BlockMap.isAllocated(e) && Integer.toUnsignedLong(e) < k) {
        owner[e] = b;
        owners++;
      }
    }
    long free = h.blocks - Math.max(count, k);
    if (owners > free) {
      throw new BlockException("Cannot grow VDI image '" + image.location() + "': the block map "
          + "needs the room of " + k + " data block(s), but only " + free + " of the "
          + h.blocks + " physical block numbers are free to move them to (the image is almost "
          + "fully allocated); convert it to a new image of the larger size instead");
    }
    ByteBuffer buffer = image.compactor().newCopyBuffer();
    long to = Math.max(count, k);
    long first = Long.MAX_VALUE;
    long last = -1;
    for (int p = 0; p < k; p++) {
      if (owner[p] < 0) {
        continue;
      }
      journal.nextFree.set(to + 1);
      image.compactor().copyBlock(p, to, buffer);
      image.fileGrewTo(h.dataOffset + (to + 1) * h.totalBlockSize());
      image.map.set(owner[p], (int) to);
      first = Math.min(first, owner[p]);
      last = Math.max(last, owner[p]);
      to++;
    }
    if (last >= 0) {
      image.file().flush();
      journal.commit(Changes.entries(first, last));
      image.file().flush();
    }
  }

  /**
   * Writes map entries {@code [from, to)} at {@code mapOffset}: the current entries minus {@code
   * shift} below the current block count, then {@code fresh}, or the physical blocks from {@code
   * firstNew} on when it is not negative (a fixed image).
   */
  private void writeEntries(long mapOffset, long from, long to, long shift, int fresh,
      long firstNew) throws IOException {
    long oldBlocks = image.header.blocks;
    BlockMap.Cursor scan = image.map.cursor();
    for (long first = from; first < to; first += CHUNK_ENTRIES) {
      int n = (int) Math.min(CHUNK_ENTRIES, to - first);
      ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        long b = first + i;
        int e = b < oldBlocks ? scan.get(b)
            : firstNew >= 0 ? (int) (firstNew + b - oldBlocks) : fresh;
        buf.putInt(BlockMap.isAllocated(e) ? (int) (Integer.toUnsignedLong(e) - shift) : e);
      }
      buf.flip();
      image.file().write(mapOffset + 4 * first, buf);
    }
  }

  /** Grows the file to {@code end} (sparse where the protocol can), for a fixed image's new blocks. */
  private void preallocate(long end) throws IOException {
    long length = image.fileLength();
    if (end <= length) {
      return;
    }
    if (image.file().capabilities().contains(io.blockkit.api.Capability.RESIZE)) {
      image.file().truncate(end);
    } else {
      image.file().writeZeroes(end - 1, 1);
    }
    image.fileGrewTo(end);
  }

  /**
   * Writes {@code next} (with the count lowered by {@code shift}) in one header write and makes it
   * the image's layout.
   */
  private void switchTo(VdiHeader next, long shift) throws IOException {
    long count = journal.nextFree.get() - shift;
    image.file().write(0, next.encode(count, journal.modificationUuid()));
    image.file().flush();
    journal.nextFree.set(count);
    journal.headerWritten(count);
    journal.clearEntries();
    image.replaceLayout(next);
  }

  // ---------------------------------------------------------------- shrinking

  private void shrink(long newSize) throws IOException {
    VdiHeader h = image.header;
    if (h.type == VdiHeader.TYPE_FIXED) {
      throw new UnsupportedFeatureException("Cannot shrink VDI image '" + image.location()
          + "': it is a fixed image, whose preallocated blocks would stay in the file; "
          + "convert it to a smaller image instead");
    }
    long blocks = (newSize + h.blockSize - 1) / h.blockSize;
    long end = Math.min(image.size(), h.blocks * h.blockSize);
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(1 << 20, h.blockSize));
    long first = Long.MAX_VALUE;
    long last = -1;
    for (long pos = newSize; pos < end; ) {
      long block = pos >>> image.shift();
      long blockEnd = Math.min((block + 1) << image.shift(), end);
      int e = image.map.get(block);
      if (BlockMap.isAllocated(e)) {
        requireZeros(block, e, pos, blockEnd, newSize, buf);
        if (block >= blocks) {
          image.map.set(block, BlockMap.ZERO);
          first = Math.min(first, block);
          last = Math.max(last, block);
        }
      }
      pos = blockEnd;
    }
    Changes released = new Changes();
    if (last >= 0) {
      released = Changes.entries(first, last);
    }
    image.compactor().pack(released);
    switchTo(h.withGeometry(newSize, blocks, h.blocksOffset, h.dataOffset), 0);
  }

  /** Refuses the shrink when virtual bytes {@code [from, to)} of the allocated block hold data. */
  private void requireZeros(long block, int entry, long from, long to, long newSize,
      ByteBuffer buf) throws IOException {
    long phys = Integer.toUnsignedLong(entry);
    if (phys >= image.header.blocks) {
      throw new BlockException("Cannot shrink VDI image '" + image.location() + "': block "
          + block + ", in the part to cut off, has a corrupt map entry; run a check first");
    }
    long host = image.dataOffset(phys) + (from & (image.blockSize() - 1));
    for (long done = 0; done < to - from; done += buf.capacity()) {
      int n = (int) Math.min(buf.capacity(), to - from - done);
      buf.clear().limit(n);
      image.file().read(host + done, buf);
      buf.flip();
      if (!VdiWriter.isAllZero(buf)) {
        throw new BlockException("Cannot shrink VDI image '" + image.location() + "' to "
            + newSize
            + " bytes: block " + block + " holds data in the part that would be cut off (virtual "
            + "bytes " + from + ".." + to + "); shrinking never discards data");
      }
    }
  }

  private static long align(long v, long a) {
    return (v + a - 1) / a * a;
  }
}
