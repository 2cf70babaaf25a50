package io.blockkit.vdi;

import io.blockkit.api.Extent;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The read path of one open image: reads and block status. No lock is taken: each request
 * validates an optimistic stamp of the image's layout lock and runs again under its shared lock
 * only when entries or the header changed meanwhile (blocks moved, a resize).
 */
final class VdiReader {
  private final VdiImage image;
  private final int shift;
  private final long blockSize;

  VdiReader(VdiImage image) {
    this.image = image;
    this.shift = image.shift();
    this.blockSize = image.blockSize();
  }

  void read(long offset, ByteBuffer dst) throws IOException {
    int start = dst.position();
    long stamp = image.layoutLock.tryOptimisticRead();
    if (stamp != 0) {
      try {
        readBlocks(offset, dst);
        if (image.layoutLock.validate(stamp)) {
          return;
        }
      } catch (IOException | RuntimeException e) {
        if (image.layoutLock.validate(stamp)) {
          throw e;
        }
      }
      dst.position(start);
    }
    // Blocks moved while we read (or are moving): read again with the layout held still.
    stamp = image.layoutLock.readLock();
    try {
      readBlocks(offset, dst);
    } finally {
      image.layoutLock.unlockRead(stamp);
    }
  }

  private void readBlocks(long offset, ByteBuffer dst) throws IOException {
    VdiHeader h = image.header;
    BlockMap m = image.map;
    long pos = offset;
    long end = offset + dst.remaining();
    while (pos < end) {
      long block = pos >>> shift;
      long inBlock = pos & (blockSize - 1);
      long n = Math.min(blockSize - inBlock, end - pos);
      int entry = m.get(block);
      if (!BlockMap.isAllocated(entry)) {
        if (entry == BlockMap.FREE && h.isDifferencing()) {
          // Left to the parent (zeros when the user dropped it, or past its end).
          image.readParent(pos, dst.slice().limit((int) n));
          dst.position(dst.position() + (int) n);
        } else {
          fillZeros(dst, (int) n);
        }
        pos += n;
        continue;
      }
      long phys = Integer.toUnsignedLong(entry);
      if (phys >= h.blocks) {
        throw entryOutOfRange(h, block, phys, pos, n);
      }
      // Blocks whose data follow each other in the file are read with one child request.
      long host = image.dataOffset(phys) + inBlock;
      long run = n;
      long lastBlock = block;
      long lastPhys = phys;
      while (pos + run < end && h.blockExtra == 0) {
        int next = m.get(lastBlock + 1);
        if (!BlockMap.isAllocated(next) || Integer.toUnsignedLong(next) != lastPhys + 1
            || lastPhys + 1 >= h.blocks) {
          break;
        }
        lastBlock++;
        lastPhys++;
        run += Math.min(blockSize, end - pos - run);
      }
      if (host + run > image.fileLength()) {
        throw pastEndOfFile(pos, run);
      }
      ByteBuffer slice = dst.slice().limit((int) run);
      image.file().read(host, slice);
      dst.position(dst.position() + (int) run);
      pos += run;
    }
  }

  /**
   * The error for a read of {@code [pos, pos+len)} inside a block whose map entry is no physical
   * block (check reports it as a corruption): its offset would lie past every block, or even past
   * 2^63 with a large block_extra, so nothing is read from it. A DataUnavailableException, so a
   * salvaging caller can substitute zeros for exactly this range.
   */
  private DataUnavailableException entryOutOfRange(VdiHeader h, long block, long phys, long pos,
      long len) {
    return new DataUnavailableException("Cannot read image '" + image.location() + "': block " + block
        + " (virtual bytes " + pos + ".." + (pos + len) + ") has block map entry " + phys
        + " (at offset " + image.mapEntryOffset(block) + "), out of range (physical blocks are numbered "
        + "below blocks_in_image, " + h.blocks + "); the image is corrupt", pos, len);
  }

  /** The error for a read of {@code [pos, pos+len)} some of whose data lie past the end of the file. */
  private DataUnavailableException pastEndOfFile(long pos, long len) throws IOException {
    long eof = image.fileLength();
    long p = pos;
    while (p < pos + len) {
      long block = p >>> shift;
      long inBlock = p & (blockSize - 1);
      long n = Math.min(blockSize - inBlock, pos + len - p);
      long host = image.dataOffset(Integer.toUnsignedLong(image.map.get(block))) + inBlock;
      if (host + n > eof) {
        // Report exactly the unreadable bytes, so a salvaging caller keeps what the file holds.
        long readable = Math.max(0, eof - host);
        return new DataUnavailableException("Cannot read image '" + image.location() + "': block "
            + block + " (virtual bytes " + p + ".." + (p + n) + ") has its data at file offset "
            + host + ".." + (host + n) + ", past the end of the file (" + eof
            + " bytes); the image is truncated", p + readable, n - readable);
      }
      p += n;
    }
    return new DataUnavailableException("Cannot read image '" + image.location() + "': data at virtual "
        + "offset " + pos + " lies past the end of the file (" + eof + " bytes)", pos, len);
  }

  private static void fillZeros(ByteBuffer dst, int n) {
    if (dst.hasArray()) {
      java.util.Arrays.fill(dst.array(), dst.arrayOffset() + dst.position(),
          dst.arrayOffset() + dst.position() + n, (byte) 0);
      dst.position(dst.position() + n);
    } else {
      for (int i = 0; i < n; i++) {
        dst.put((byte) 0);
      }
    }
  }

  Extent blockStatus(long offset, long length) throws IOException {
    long stamp = image.layoutLock.tryOptimisticRead();
    if (stamp != 0) {
      try {
        Extent e = status(offset, length);
        if (image.layoutLock.validate(stamp)) {
          return e;
        }
      } catch (IOException | RuntimeException e) {
        if (image.layoutLock.validate(stamp)) {
          throw e;
        }
      }
    }
    stamp = image.layoutLock.readLock();
    try {
      return status(offset, length);
    } finally {
      image.layoutLock.unlockRead(stamp);
    }
  }

  /**
   * One run of blocks with the same status. FREE blocks of a differencing image are left to the
   * parent (not allocated); ZERO blocks, and FREE ones of a base image, read zeros.
   */
  private Extent status(long offset, long length) throws IOException {
    VdiHeader h = image.header;
    BlockMap m = image.map;
    long end = Math.min(offset + length, h.virtualSize());
    long block = offset >>> shift;
    long inBlock = offset & (blockSize - 1);
    long len = Math.min(blockSize - inBlock, end - offset);
    int entry = m.get(block);
    if (!BlockMap.isAllocated(entry)) {
      long last = (end - 1) >>> shift;
      if (h.isDifferencing()) {
        long run = 1;
        while (block + run <= last && m.get(block + run) == entry) {
          run++;
        }
        long runEnd = Math.min(end, (block + run) << shift);
        return entry == BlockMap.FREE
            ? new Extent(offset, runEnd - offset, false, false, false, -1, null)
            : Extent.zero(offset, runEnd - offset);
      }
      long more = m.unallocatedRun(block + 1, last - block);
      return Extent.zero(offset, Math.min(end, (block + 1 + more) << shift) - offset);
    }
    long phys = Integer.toUnsignedLong(entry);
    if (phys >= h.blocks) {
      // An out-of-range entry (a corruption): data, but at no offset reads could use.
      return new Extent(offset, len, true, false, true, -1, null);
    }
    long host = image.dataOffset(phys) + inBlock;
    while (offset + len < end && h.blockExtra == 0) {
      int next = m.get(block + 1);
      if (!BlockMap.isAllocated(next) || Integer.toUnsignedLong(next) != phys + 1
          || phys + 1 >= h.blocks) {
        break;
      }
      block++;
      phys++;
      len += Math.min(blockSize, end - offset - len);
    }
    return Extent.data(offset, len, host, image.file());
  }
}
