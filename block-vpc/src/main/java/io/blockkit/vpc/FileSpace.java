package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The file's space as the blocks see it: how long the file is as far as this image wrote it (a
 * read past that is a truncated image), where the next block goes, where the footer at the end
 * lies, and which blocks must not be written before a repair. {@link #rescan} sets all of it from
 * the BAT and the file as they are; reservations of new blocks are serialised by one lock.
 *
 * <p>Crash ordering: a reservation that grows the file writes the footer at the new end before it
 * returns, so the file ends with a footer whatever is written into the block later.
 */
final class FileSpace {
  private static final int SECTOR = VpcFile.SECTOR;

  private final String location;
  private final BlockDevice file;
  private final VpcFile layout;
  private final long footprint;

  /** Guards {@link #nextFree} and {@link #footerPos}. */
  private final Object allocation = new Object();
  /** Where the next block goes: past every block and all metadata. */
  private long nextFree;
  /** Where the footer at the end is (or goes): blocks reaching it move it first. */
  private long footerPos;
  private final AtomicLong length;
  /** Blocks that overlap something or reach past the end: never written before a repair. */
  private volatile BitSet unsafe;

  /** A new block's place, and the file's length before it was reserved. */
  record Reservation(long offset, long lengthBefore) {}

  FileSpace(String location, BlockDevice file, VpcFile layout) {
    this.location = location;
    this.file = file;
    this.layout = layout;
    this.footprint = layout.blockFootprint();
    this.length = new AtomicLong(layout.length);
  }

  /**
   * Recomputes where blocks go and which may be written, from {@code bat} and the file as they
   * are; returns the scan.
   */
  BlockScan rescan(Bat bat) throws IOException {
    long now = file.size();
    length.set(now);
    long footerAt = footerPlace(file, now);
    BlockScan scan = BlockScan.of(layout, bat, now, footerAt);
    synchronized (allocation) {
      nextFree = scan.blocksEnd();
      footerPos = Math.max(footerAt, nextFree);
    }
    unsafe = scan.unsafe();
    return scan;
  }

  /**
   * Where the footer at the end lies: the last 512 bytes when they hold a footer (even a damaged
   * one), else the end of the file (a crash cut it off, or it was never written).
   */
  static long footerPlace(BlockDevice file, long length) throws IOException {
    if (length >= Footer.SIZE
        && Footer.read(VpcFile.read(file, length - Footer.SIZE, Footer.SIZE)).hasCookie()) {
      return length - Footer.SIZE;
    }
    return (length + SECTOR - 1) / SECTOR * SECTOR;
  }

  /** The file's length as far as this image knows: what it had, and what was written since. */
  long length() {
    return length.get();
  }

  /** Records that the file now reaches at least {@code end}. */
  void grew(long end) {
    length.accumulateAndGet(end, Math::max);
  }

  /**
   * Reserves the place of a new block for {@code block}, writing the footer at its end first when
   * it grows the file.
   *
   * @throws BlockException when the block would start past what a 32-bit BAT entry addresses
   */
  Reservation reserve(int block) throws IOException {
    synchronized (allocation) {
      long off = nextFree;
      long end = off + footprint;
      if (off / SECTOR >= 0xffffffffL) {
        throw new BlockException("Cannot allocate block " + block + " in VHD image '" + location
            + "': the file would reach past 2 TiB, which 32-bit BAT entries cannot address");
      }
      long before = length.get();
      if (end > footerPos) {
        // The footer moves first: a crash from here on leaves it at the end of the file.
        file.write(end, layout.footer.encode());
        footerPos = end;
        grew(end + Footer.SIZE);
      }
      nextFree = end;
      return new Reservation(off, before);
    }
  }

  /**
   * Zeros what an earlier crash may have left in a reserved block's data area (bytes the file had
   * before the reservation).
   */
  void zeroStale(Reservation r) throws IOException {
    long data = r.offset() + layout.bitmapBytes;
    if (r.lengthBefore() > data) {
      file.writeZeroes(data, Math.min(layout.blockSize, r.lengthBefore() - data));
    }
  }

  /** Hands a block whose writes failed back, unless a later one was reserved (then it leaks). */
  void release(Reservation r) {
    synchronized (allocation) {
      if (nextFree == r.offset() + footprint) {
        nextFree = r.offset();
      }
    }
  }

  /**
   * Refuses a write into a block the last scan found overlapping something or reaching past the
   * end of the file.
   *
   * @throws CorruptImageException when {@code block} is such a block
   */
  void requireWritable(int block, int entry) throws CorruptImageException {
    if (unsafe.get(block)) {
      throw new CorruptImageException(location, "BAT entry " + block, layout.tableOffset
          + 4L * block, "sector " + Integer.toUnsignedString(entry), "a block that overlaps no "
          + "other block or metadata and lies inside the file; writing it could destroy other "
          + "data. Run a check with repair of all errors first");
    }
  }
}
