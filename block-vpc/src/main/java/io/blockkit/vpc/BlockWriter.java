package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Writes and zeroing of a dynamic or differencing image, block by block: in place where every
 * touched sector is this image's already; else the touched sectors are claimed (the parent's
 * bytes, or zeros, copied in and their bits set) and committed before the data goes in, in one
 * request; a block not allocated yet is allocated.
 *
 * <p>Crash ordering of a new block: its place is reserved ({@link FileSpace#reserve} moves the
 * footer first when the file grows), zeros go over any stale bytes there, then the data (partly
 * written sectors of a differencing image completed from the parent), then its bitmap; the entry
 * is published in memory and {@link Commits#commit} writes it, after a flush, before the request
 * returns. A failed write hands the block back. Allocation and bitmap changes of one block are
 * serialised by its {@link BlockLocks} stripe; commits run outside it (a commit takes the locks of
 * the blocks it copies).
 */
final class BlockWriter {
  private static final int SECTOR = VpcFile.SECTOR;

  private final BlockDevice file;
  private final Bat bat;
  private final Bitmaps bitmaps;
  private final BlockLocks locks;
  private final FileSpace space;
  private final Commits commits;
  private final Blocks.Parent parent;
  private final boolean differencing;
  private final long blockSize;
  private final int shift;
  private final int bitmapBytes;
  private final long footprint;

  BlockWriter(BlockDevice file, VpcFile layout, Bat bat, Bitmaps bitmaps, BlockLocks locks,
      FileSpace space, Commits commits, Blocks.Parent parent) {
    this.file = file;
    this.bat = bat;
    this.bitmaps = bitmaps;
    this.locks = locks;
    this.space = space;
    this.commits = commits;
    this.parent = parent;
    this.differencing = layout.isDifferencing();
    this.blockSize = layout.blockSize;
    this.shift = Long.numberOfTrailingZeros(blockSize);
    this.bitmapBytes = layout.bitmapBytes;
    this.footprint = layout.blockFootprint();
  }

  /**
   * Writes {@code length} bytes of {@code src} (null: zeros) at {@code offset}; when blocks were
   * allocated or bitmaps changed, their metadata is committed before this returns.
   */
  void write(long offset, ByteBuffer src, long length) throws IOException {
    eachBlock(offset, length, (block, pos, in, n) -> {
      ByteBuffer piece = null;
      if (src != null) {
        piece = src.slice().limit(n);
        src.position(src.position() + n);
      }
      return writeBlock(block, pos, in, n, piece);
    });
  }

  /** One block's part of a request; returns whether the block's metadata changed. */
  @FunctionalInterface
  private interface BlockStep {
    boolean run(int block, long pos, long in, int n) throws IOException;
  }

  /**
   * Runs {@code step} on each block's part of {@code [offset, offset + length)} in order, then
   * commits when any step changed metadata (also when a later step failed).
   */
  private void eachBlock(long offset, long length, BlockStep step) throws IOException {
    long pos = offset;
    long end = offset + length;
    boolean changed = false;
    try {
      while (pos < end) {
        int block = (int) (pos >>> shift);
        long in = pos & (blockSize - 1);
        int n = (int) Math.min(blockSize - in, end - pos);
        changed |= step.run(block, pos, in, n);
        pos += n;
      }
    } finally {
      if (changed) {
        commits.commit();
      }
    }
  }

  /** Returns whether the block's metadata changed (allocated, or bits set). */
  private boolean writeBlock(int block, long pos, long in, int n, ByteBuffer piece)
      throws IOException {
    int entry = bat.get(block);
    if (Bat.isAllocated(entry)) {
      space.requireWritable(block, entry);
      byte[] bm = bitmaps.get(block);
      if (Bitmaps.runEnd(bm, in / SECTOR, (in + n + SECTOR - 1) / SECTOR)
          == (in + n + SECTOR - 1) / SECTOR && Bitmaps.isSet(bm, in / SECTOR)) {
        // Every sector is this image's already: in place, no lock. But when the bitmap's bits
        // are not in the file yet (a commit failed, e.g. its flush), some of these sectors may
        // still read the parent or zeros there: writing now would let a crash show part of this
        // write. The bits go first, as for sectors claimed below.
        if (bitmaps.isPending(block)) {
          commits.commit();
        }
        writeHost(Bat.offsetOf(entry) + bitmapBytes + in, piece, n);
        return false;
      }
    } else if (!differencing && (piece == null || isAllZero(piece))) {
      return false; // it reads zeros already
    }
    long host;
    locks.lock(block);
    try {
      entry = bat.get(block);
      if (!Bat.isAllocated(entry)) {
        allocate(block, pos, in, n, piece);
        return true;
      }
      space.requireWritable(block, entry);
      host = claimSectors(block, entry, pos, in, n);
    } finally {
      locks.unlock(block);
    }
    // The claimed sectors read as before; committing their bits first and then writing the data
    // in one request makes the whole write appear at once, even after a crash. (Committing
    // outside the block's lock: a commit takes the locks of every block it copies.)
    commits.commit();
    writeHost(host, piece, n);
    return false;
  }

  /**
   * Makes the sectors a write into an allocated block touches this image's without changing
   * what they read: sectors left to the parent get the parent's bytes (zeros in a dynamic image)
   * copied in, then their bits are set (in memory; the caller commits). Returns the file offset
   * the write's data goes to. Caller holds the block's lock.
   */
  private long claimSectors(int block, int entry, long pos, long in, int n)
      throws IOException {
    long data = Bat.offsetOf(entry) + bitmapBytes;
    long blockStart = pos - in;
    byte[] bm = bitmaps.forUpdate(block);
    long first = in / SECTOR;
    long end = (in + n + SECTOR - 1) / SECTOR;
    for (long s = first; s < end; ) {
      long run = Bitmaps.runEnd(bm, s, end);
      if (!Bitmaps.isSet(bm, s)) {
        if (differencing) {
          copyFromParent(data, blockStart, s * SECTOR, run * SECTOR);
        } else {
          writeHost(data + s * SECTOR, null, (run - s) * SECTOR);
        }
      }
      s = run;
    }
    Bitmaps.setRange(bm, first, end, true);
    bitmaps.changed(block);
    return data + in;
  }

  /**
   * A new block: reserve its place, zero what an earlier crash may have left there, write the
   * data and the bitmap, then publish the entry, which the caller's commit writes. In a
   * differencing image only the touched sectors become present (partly written ones completed
   * from the parent); in a dynamic one all of them. Caller holds the block's lock.
   */
  private void allocate(int block, long pos, long in, int n, ByteBuffer piece)
      throws IOException {
    FileSpace.Reservation r = space.reserve(block);
    long off = r.offset();
    boolean written = false;
    try {
      space.zeroStale(r);
      long data = off + bitmapBytes;
      long first = in / SECTOR;
      long last = (in + n - 1) / SECTOR;
      byte[] bm = new byte[bitmapBytes];
      if (differencing) {
        // Only the written sectors become this image's; the rest stay the parent's.
        Bitmaps.setRange(bm, first, last + 1, true);
        fillFromParent(data, pos - in, first, in, last, in + n);
      } else {
        // As qemu does: the whole new block is present (zeros where not written), so status and
        // qemu-img map agree block by block.
        Bitmaps.setRange(bm, 0, blockSize / SECTOR, true);
      }
      if (piece != null) {
        file.write(data + in, piece);
      }
      file.write(off, ByteBuffer.wrap(bm.clone()));
      space.grew(off + footprint);
      written = true;
      bitmaps.put(block, bm);
      bat.set(block, (int) (off / SECTOR));
    } finally {
      if (!written) {
        space.release(r);
      }
    }
  }

  /**
   * Copies from the parent the parts of the first and last sectors of a new block's write that
   * the write leaves out.
   */
  private void fillFromParent(long data, long blockStart, long first, long in, long last,
      long inEnd) throws IOException {
    if (in % SECTOR != 0) {
      copyFromParent(data, blockStart, first * SECTOR, in);
    }
    if (inEnd % SECTOR != 0) {
      copyFromParent(data, blockStart, inEnd, (last + 1) * SECTOR);
    }
  }

  private void copyFromParent(long data, long blockStart, long from, long to)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) (to - from));
    parent.read(blockStart + from, b);
    b.flip();
    file.write(data + from, b);
    space.grew(data + to);
  }

  private void writeHost(long host, ByteBuffer piece, long n) throws IOException {
    if (piece == null) {
      file.writeZeroes(host, n);
    } else {
      file.write(host, piece);
    }
    space.grew(host + n);
  }

  private static boolean isAllZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Makes a range read as zeros. Dynamic images clear the bits of whole sectors (reads zeros,
   * holds no data) and zero partly covered ones in place, and punch the data; differencing
   * images must not let the parent show through, so the range is written as zeros (blocks
   * allocated as needed). {@code discard} of a differencing image keeps what it reads.
   */
  void zero(long offset, long length, boolean discard) throws IOException {
    if (differencing) {
      if (!discard) {
        write(offset, null, length);
      }
      return;
    }
    eachBlock(offset, length,
        (block, pos, in, n) -> Bat.isAllocated(bat.get(block)) && zeroInBlock(block, in, n));
  }

  /** Returns whether bits were cleared. */
  private boolean zeroInBlock(int block, long in, long n) throws IOException {
    locks.lock(block);
    try {
      int entry = bat.get(block);
      space.requireWritable(block, entry);
      long data = Bat.offsetOf(entry) + bitmapBytes;
      // One request zeroes the whole range (a crash leaves it all old or all new); then whole
      // sectors lose their bits, so they hold no data.
      long zeroEnd = Math.min(data + in + n, space.length());
      if (zeroEnd > data + in) {
        file.writeZeroes(data + in, zeroEnd - data - in);
      }
      long wholeFirst = (in + SECTOR - 1) / SECTOR;
      long wholeEnd = (in + n) / SECTOR;
      if (wholeFirst >= wholeEnd) {
        return false;
      }
      byte[] bm = bitmaps.forUpdate(block);
      Bitmaps.setRange(bm, wholeFirst, wholeEnd, false);
      bitmaps.changed(block);
      return true;
    } finally {
      locks.unlock(block);
    }
  }
}
