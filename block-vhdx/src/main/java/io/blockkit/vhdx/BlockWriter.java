package io.blockkit.vhdx;

import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The write paths of a writable {@link VhdxImage}.
 *
 * <ul>
 *   <li>A block with data (FULLY_PRESENT) is written in place.
 *   <li>A new block gets space from the {@link SpaceMap}; its data (and zeros for the rest) are
 *       written first, then its BAT entry is set and committed through the log, so a crash before
 *       the commit leaves the space unreferenced (a leak at worst).
 *   <li>In a differencing image, a write covering part of a block its parent decides allocates the
 *       block as PARTIALLY_PRESENT: only the sectors written are stored (a partly written sector
 *       is first filled from the parent), and their bits are set in the chunk's sector bitmap
 *       (allocated, as a zeroed 1 MiB block through the log, on first use). The bits of the rest
 *       of the block are cleared in the same commit.
 *   <li>Zeroing or discarding whole blocks sets them ZERO through the log (a fixed image zeroes
 *       its data in place instead); blocks that held data are released afterwards under the
 *       layout's write lock, and their space is reused once the commit that freed them is
 *       durable (blocks at the end of the file are cut off, after a log entry records the new
 *       length). Parts of blocks are zeroed in place.
 * </ul>
 *
 * Allocation of one virtual block is serialised by a striped lock; the entry is re-read under it.
 */
final class BlockWriter {
  private static final int STRIPES = 64;

  private final VhdxImage image;
  private final ImageFile file;
  private final Bat bat;
  private final MetadataWriter meta;
  private final long blockSize;
  private final int sectorSize;
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  private volatile boolean sessionReady;

  BlockWriter(VhdxImage image) {
    this.image = image;
    this.file = image.file;
    this.bat = image.bat;
    this.meta = image.writer;
    this.blockSize = image.blockSize;
    this.sectorSize = image.sectorSize;
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  /** Updates the header before the session's first change of the disk's contents. */
  private void ready() throws IOException {
    if (sessionReady) {
      return;
    }
    meta.lock.lock();
    try {
      meta.begin(true);
      sessionReady = true;
    } finally {
      meta.lock.unlock();
    }
  }

  void write(long offset, ByteBuffer src) throws IOException {
    ready();
    long stamp = image.layout.readLock();
    try {
      long pos = offset;
      long end = offset + src.remaining();
      while (pos < end) {
        long block = pos / blockSize;
        long inBlock = pos % blockSize;
        int n = (int) Math.min(blockSize - inBlock, end - pos);
        writeInBlock(block, inBlock, src.slice().limit(n));
        src.position(src.position() + n);
        pos += n;
      }
    } finally {
      image.layout.unlockRead(stamp);
    }
  }

  /** Zeroes (and, for whole blocks, releases) the range: writeZeroes and discard alike. */
  void zero(long offset, long length) throws IOException {
    ready();
    List<Long> release = new ArrayList<>();
    long stamp = image.layout.readLock();
    try {
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        long block = pos / blockSize;
        long inBlock = pos % blockSize;
        long n = Math.min(image.blockLength(block) - inBlock, end - pos);
        if (zeroInBlock(block, inBlock, n)) {
          release.add(block);
        }
        pos += n;
      }
    } finally {
      image.layout.unlockRead(stamp);
    }
    if (!release.isEmpty()) {
      stamp = image.layout.writeLock();
      try {
        release(release);
      } finally {
        image.layout.unlockWrite(stamp);
      }
    }
  }

  private ReentrantLock stripe(long block) {
    return stripes[(int) (block % STRIPES)];
  }

  /** Whether a block without stored data reads zeros (rather than its parent's bytes). */
  private boolean readsZeros(int state) {
    return !BatState.present(state) && !(image.differencing && state == BatState.NOT_PRESENT);
  }

  private static boolean storesAll(int state, boolean usesBitmap) {
    return state == BatState.FULLY_PRESENT
        || state == BatState.PARTIALLY_PRESENT && !usesBitmap;
  }

  // ---------------------------------------------------------------- writes

  private void writeInBlock(long block, long inBlock, ByteBuffer data) throws IOException {
    long e = bat.payload(block);
    if (BatState.state(e) == BatState.FULLY_PRESENT) {
      file.write(writableHost(block, e) + inBlock, data);
      return;
    }
    ReentrantLock lock = stripe(block);
    lock.lock();
    try {
      e = bat.payload(block);
      int state = BatState.state(e);
      boolean usesBitmap = state == BatState.PARTIALLY_PRESENT && bat.usesBitmap(block);
      if (storesAll(state, usesBitmap)) {
        file.write(writableHost(block, e) + inBlock, data);
      } else if (usesBitmap) {
        writeSectors(block, BatState.offset(writableEntry(block, e)), inBlock, data.remaining(),
            data);
      } else if (image.differencing && state == BatState.NOT_PRESENT
          && !(inBlock == 0 && data.remaining() == image.blockLength(block))) {
        allocatePartial(block, inBlock, data.remaining(), data);
      } else if (!(readsZeros(state) && isZero(data))) {
        allocateFull(block, inBlock, data);
      }
      // else: a block that reads zeros stays as it is for a write of zeros
    } finally {
      lock.unlock();
    }
  }

  /** A new FULLY_PRESENT block: the data, zeros around it, then the entry through the log. */
  private void allocateFull(long block, long inBlock, ByteBuffer data) throws IOException {
    long host = reserve(blockSize);
    try {
      int n = data.remaining();
      if (inBlock > 0) {
        file.writeZeroes(host, inBlock);
      }
      file.write(host + inBlock, data);
      if (inBlock + n < blockSize) {
        file.writeZeroes(host + inBlock + n, blockSize - inBlock - n);
      }
    } catch (IOException | RuntimeException e) {
      unreserve(host, blockSize);
      throw e;
    }
    meta.lock.lock();
    try {
      meta.set(bat.payloadOffset(block), BatState.entry(BatState.FULLY_PRESENT, host));
      meta.commit();
    } finally {
      meta.lock.unlock();
    }
  }

  /**
   * A new PARTIALLY_PRESENT block of a differencing image: the sectors of {@code [inBlock,
   * inBlock + n)} (from {@code data}, or zeros when it is null), the chunk's bitmap block if it
   * has none, the block's bits, then the entries through the log.
   */
  private void allocatePartial(long block, long inBlock, long n, ByteBuffer data)
      throws IOException {
    long host = reserve(blockSize);
    long first = inBlock / sectorSize * sectorSize;
    long last = Layout.roundUp(inBlock + n, sectorSize);
    try {
      writeRange(block, host, inBlock, n, data, false);
      // The rest of the block: holes, so that the file covers it and nothing stale remains.
      if (first > 0) {
        file.writeZeroes(host, first);
      }
      if (last < blockSize) {
        file.writeZeroes(host + last, blockSize - last);
      }
    } catch (IOException | RuntimeException e) {
      unreserve(host, blockSize);
      throw e;
    }
    meta.lock.lock();
    try {
      long chunk = block / image.geometry.chunkRatio();
      if (BatState.state(bat.bitmap(chunk)) != BatState.SB_PRESENT) {
        long bm = meta.space().allocate(Layout.BITMAP_BLOCK);
        // Zeros in place first (the space is new: nothing refers to it yet), so that the file
        // covers the bitmap even while a failed commit keeps its entry pending.
        try {
          file.writeZeroes(bm, Layout.BITMAP_BLOCK);
        } catch (IOException | RuntimeException e) {
          meta.space().free(bm, Layout.BITMAP_BLOCK);
          throw e;
        }
        meta.zero(bm, Layout.BITMAP_BLOCK);
        meta.set(bat.bitmapEntryOffset(chunk), BatState.entry(BatState.SB_PRESENT, bm));
      }
      setBits(block, 0, image.geometry.sectorsPerBlock(), false);
      setBits(block, first / sectorSize, last / sectorSize, true);
      meta.set(bat.payloadOffset(block), BatState.entry(BatState.PARTIALLY_PRESENT, host));
      meta.commit();
    } finally {
      meta.lock.unlock();
    }
  }

  /**
   * Writes {@code [inBlock, inBlock + n)} of a PARTIALLY_PRESENT block (from {@code data}, or
   * zeros when it is null) and sets the bits of the sectors it covers.
   */
  private void writeSectors(long block, long host, long inBlock, long n, ByteBuffer data)
      throws IOException {
    writeRange(block, host, inBlock, n, data, true);
    long first = inBlock / sectorSize;
    long last = (inBlock + n - 1) / sectorSize;
    if (bat.presenceRun(block, first, last - first + 1) == last - first + 1
        && bat.sectorPresent(block, first)) {
      return;
    }
    meta.lock.lock();
    try {
      setBits(block, first, last + 1, true);
      meta.commit();
    } finally {
      meta.lock.unlock();
    }
  }

  /**
   * Writes a range into a block whose sectors the bitmap tracks: a sector written only in part
   * and not present yet is completed from the parent first, so it can be marked present whole.
   */
  private void writeRange(long block, long host, long inBlock, long n, ByteBuffer data,
      boolean bitsValid) throws IOException {
    long end = inBlock + n;
    long pos = inBlock;
    while (pos < end) {
      long sectorStart = pos / sectorSize * sectorSize;
      long sectorEnd = sectorStart + sectorSize;
      boolean partial = pos != sectorStart || end < sectorEnd;
      long stop = partial ? Math.min(end, sectorEnd) : end / sectorSize * sectorSize;
      int len = (int) (stop - pos);
      if (partial && !(bitsValid && bat.sectorPresent(block, sectorStart / sectorSize))) {
        ByteBuffer sector = ByteBuffer.allocate(sectorSize);
        image.readParent(block * blockSize + sectorStart, sector);
        sector.position((int) (pos - sectorStart));
        put(sector, data, len);
        sector.clear();
        file.write(host + sectorStart, sector);
      } else if (data == null) {
        file.writeZeroes(host + pos, len);
      } else {
        file.write(host + pos, data.slice().limit(len));
        data.position(data.position() + len);
      }
      pos = stop;
    }
  }

  /** Copies {@code len} bytes of {@code data} (zeros when null) into {@code dst}. */
  private static void put(ByteBuffer dst, ByteBuffer data, int len) {
    if (data == null) {
      VhdxImage.fillZeros(dst, len);
    } else {
      dst.put(data.slice().limit(len));
      data.position(data.position() + len);
    }
  }

  /** Sets (or clears) the bits of sectors {@code [from, to)} of {@code block}; holds the meta lock. */
  private void setBits(long block, long from, long to, boolean present) throws IOException {
    long s = from;
    while (s < to) {
      long at = bat.bitWordOffset(block, s);
      int bit = Bat.bitInWord(block, image.geometry, s);
      int n = (int) Math.min(64 - bit, to - s);
      long mask = (n == 64 ? -1L : (1L << n) - 1) << bit;
      long word = bat.pages.word(at);
      long next = present ? word | mask : word & ~mask;
      if (next != word) {
        meta.set(at, next);
      }
      s += n;
    }
  }

  // ---------------------------------------------------------------- zeroing

  /**
   * Zeroes {@code [inBlock, inBlock + n)} of {@code block}; returns true when the whole block
   * holds data to be released (done afterwards under the layout's write lock).
   */
  private boolean zeroInBlock(long block, long inBlock, long n) throws IOException {
    boolean whole = inBlock == 0 && n == image.blockLength(block);
    ReentrantLock lock = stripe(block);
    lock.lock();
    try {
      long e = bat.payload(block);
      int state = BatState.state(e);
      boolean usesBitmap = state == BatState.PARTIALLY_PRESENT && bat.usesBitmap(block);
      boolean stored = storesAll(state, usesBitmap) || usesBitmap;
      if (stored && (image.fixed || !whole)) {
        if (usesBitmap) {
          writeSectors(block, BatState.offset(writableEntry(block, e)), inBlock, n, null);
        } else {
          file.writeZeroes(writableHost(block, e) + inBlock, n);
        }
        return false;
      }
      if (stored) {
        return true;
      }
      if (readsZeros(state)) {
        return false;
      }
      if (whole) {
        meta.lock.lock();
        try {
          meta.set(bat.payloadOffset(block), BatState.entry(BatState.ZERO, 0));
          meta.commit();
        } finally {
          meta.lock.unlock();
        }
      } else {
        allocatePartial(block, inBlock, n, null);
      }
      return false;
    } finally {
      lock.unlock();
    }
  }

  /** Makes whole blocks ZERO and frees their space; holds the layout's write lock. */
  private void release(List<Long> blocks) throws IOException {
    List<long[]> freed = new ArrayList<>();
    meta.lock.lock();
    try {
      for (long block : blocks) {
        long e = bat.payload(block);
        if (BatState.present(BatState.state(e))) {
          meta.set(bat.payloadOffset(block), BatState.entry(BatState.ZERO, 0));
          freed.add(new long[] {BatState.offset(e), blockSize});
        }
      }
      meta.commit();
      // Durable now: the space may be given back and reused, and cut off at the file's end.
      for (long[] f : freed) {
        if (!image.overlapsStructures(f[0], f[1])) {
          file.release(f[0], f[1]);
          meta.space().free(f[0], f[1]);
        }
      }
      long end = meta.space().end();
      if (file.length() > end) {
        meta.beforeShrink(end);
        file.truncate(end);
      }
    } finally {
      meta.lock.unlock();
    }
  }

  // ---------------------------------------------------------------- space and sanity

  private long reserve(long length) {
    meta.lock.lock();
    try {
      return meta.space().allocate(length);
    } finally {
      meta.lock.unlock();
    }
  }

  private void unreserve(long host, long length) {
    meta.lock.lock();
    try {
      meta.space().free(host, length);
    } finally {
      meta.lock.unlock();
    }
  }

  /**
   * The data offset of a block to be written in place, or a CorruptImageException when its entry
   * points where writing would damage the file: past its end, or over the header section, the
   * log or a region.
   */
  private long writableHost(long block, long entry) throws IOException {
    return BatState.offset(writableEntry(block, entry));
  }

  private long writableEntry(long block, long entry) throws IOException {
    long host = BatState.offset(entry);
    if (host + blockSize > file.length() || image.overlapsStructures(host, blockSize)) {
      throw new CorruptImageException(image.location(), "BAT entry of block " + block,
          bat.payloadOffset(block), "file offset " + host, "a block inside the "
              + file.length() + "-byte file, clear of the header section, the log and the "
              + "regions; run a check with repair of all errors first");
    }
    return entry;
  }

  private static boolean isZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
