package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Reads and block status of a dynamic or differencing image: a block through its BAT entry, a
 * sector through its block's bitmap; what this image does not hold reads the {@link
 * Blocks.Parent} (a differencing image's parent, or zeros). Takes no lock: BAT entries are atomic
 * and a bit seen set (read with acquire) is seen after the data written before it. Data past the
 * end of the file is refused as a truncated image, never read as zeros.
 */
final class BlockReader {
  private static final int SECTOR = VpcFile.SECTOR;

  private final String location;
  private final BlockDevice file;
  private final Bat bat;
  private final Bitmaps bitmaps;
  private final FileSpace space;
  private final Blocks.Parent parent;
  private final boolean differencing;
  private final long size;
  private final long blockSize;
  private final int shift;
  private final int bitmapBytes;

  BlockReader(String location, BlockDevice file, VpcFile layout, Bat bat, Bitmaps bitmaps,
      FileSpace space, Blocks.Parent parent) {
    this.location = location;
    this.file = file;
    this.bat = bat;
    this.bitmaps = bitmaps;
    this.space = space;
    this.parent = parent;
    this.differencing = layout.isDifferencing();
    this.size = layout.size;
    this.blockSize = layout.blockSize;
    this.shift = Long.numberOfTrailingZeros(blockSize);
    this.bitmapBytes = layout.bitmapBytes;
  }

  void read(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    while (dst.hasRemaining()) {
      int block = (int) (pos >>> shift);
      long in = pos & (blockSize - 1);
      int n = (int) Math.min(blockSize - in, dst.remaining());
      ByteBuffer part = dst.slice().limit(n);
      readBlock(block, pos, in, part);
      dst.position(dst.position() + n);
      pos += n;
    }
  }

  private void readBlock(int block, long pos, long in, ByteBuffer part) throws IOException {
    int entry = bat.get(block);
    if (!Bat.isAllocated(entry)) {
      parent.read(pos, part);
      return;
    }
    long base = Bat.offsetOf(entry);
    long n = part.remaining();
    byte[] bm = readableBitmap(block, base, pos, n);
    long p = in;
    while (p < in + n) {
      long sector = p / SECTOR;
      long runEnd = Math.min(Bitmaps.runEnd(bm, sector, (in + n + SECTOR - 1) / SECTOR) * SECTOR,
          in + n);
      int len = (int) (runEnd - p);
      ByteBuffer piece = part.slice().limit(len);
      if (Bitmaps.isSet(bm, sector)) {
        readData(block, base + bitmapBytes + p, pos + (p - in), piece);
      } else {
        parent.read(pos + (p - in), piece);
      }
      part.position(part.position() + len);
      p = runEnd;
    }
  }

  private byte[] readableBitmap(int block, long base, long pos, long n) throws IOException {
    long eof = space.length();
    if (base + bitmapBytes > eof) {
      throw new DataUnavailableException("Cannot read image '" + location + "': block " + block
          + " (virtual bytes " + pos + ".." + (pos + n) + ") has its sector bitmap at offset "
          + base + ", past the end of the file (" + eof + " bytes); the image is "
          + "truncated", pos, n);
    }
    return bitmaps.get(block);
  }

  private void readData(int block, long host, long virt, ByteBuffer dst) throws IOException {
    int len = dst.remaining();
    long eof = space.length();
    if (host + len > eof) {
      long readable = Math.max(0, eof - host);
      throw new DataUnavailableException("Cannot read image '" + location + "': block " + block
          + " (virtual bytes " + virt + ".." + (virt + len) + ") has its data at file offset "
          + host + ".." + (host + len) + ", past the end of the file (" + eof + " bytes); the "
          + "image is truncated", virt + readable, len - readable);
    }
    file.read(host, dst);
  }

  /** The run from {@code offset} that is all data of this image, or all left to the parent. */
  Extent status(long offset, long length) throws IOException {
    long end = Math.min(offset + length, size);
    int block = (int) (offset >>> shift);
    long blockStart = (long) block << shift;
    long in = offset - blockStart;
    long inEnd = Math.min(blockSize, end - blockStart);
    int entry = bat.get(block);
    if (!Bat.isAllocated(entry)) {
      long runEnd = blockStart + inEnd;
      while (runEnd < end && !Bat.isAllocated(bat.get((int) (runEnd >>> shift)))) {
        runEnd = Math.min(end, runEnd + blockSize);
      }
      return unallocated(offset, runEnd - offset);
    }
    long base = Bat.offsetOf(entry);
    if (base + bitmapBytes > space.length()) {
      // Unreadable (check reports it): data, at no offset a reader could use.
      return new Extent(offset, inEnd - in, true, false, true, -1, null);
    }
    byte[] bm = bitmaps.get(block);
    long sector = in / SECTOR;
    long runEnd = Math.min(Bitmaps.runEnd(bm, sector, (inEnd + SECTOR - 1) / SECTOR) * SECTOR,
        inEnd);
    if (Bitmaps.isSet(bm, sector)) {
      return Extent.data(offset, runEnd - in, base + bitmapBytes + in, file);
    }
    return unallocated(offset, runEnd - in);
  }

  /** Sectors this image leaves to the parent (differencing) or that read zeros (dynamic). */
  private Extent unallocated(long offset, long length) {
    return differencing ? new Extent(offset, length, false, false, false, -1, null)
        : Extent.zero(offset, length);
  }
}
