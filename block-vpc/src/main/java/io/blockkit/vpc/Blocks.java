package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The data of a dynamic or differencing image: blocks found through the BAT, sectors through
 * each block's bitmap, new blocks appended in front of the footer. See the package documentation
 * for the write order and the crash model; the caller ({@link VpcImage}) holds its layout lock
 * shared around every call here and exclusively while a check moves blocks.
 */
final class Blocks {
  /** What unallocated sectors read as: the parent's bytes, or zeros. */
  @FunctionalInterface
  interface Parent {
    void read(long offset, ByteBuffer dst) throws IOException;
  }

  private static final int SECTOR = VpcFile.SECTOR;

  final VpcFile layout;
  final Bat bat;
  final Bitmaps bitmaps;
  final BlockLocks locks = new BlockLocks();
  private final String location;
  private final BlockDevice file;
  private final Parent parent;
  private final boolean differencing;
  private final long size;
  private final long blockSize;
  private final int shift;
  private final int bitmapBytes;
  private final long footprint;
  /** The footer every move of the end writes. */
  private final Footer footer;

  /** Guards {@link #nextFree} and {@link #footerPos}. */
  private final Object allocation = new Object();
  /** Where the next block goes: past every block and all metadata. */
  private long nextFree;
  /** Where the footer at the end is (or goes): blocks reaching it move it first. */
  private long footerPos;
  private final AtomicLong fileLength;
  /** Blocks that overlap something or reach past the end: never written before a repair. */
  private volatile BitSet unsafe;
  private final Object flushLock = new Object();

  Blocks(String location, BlockDevice file, VpcFile layout, Parent parent) throws IOException {
    this.location = location;
    this.file = file;
    this.layout = layout;
    this.parent = parent;
    this.differencing = layout.isDifferencing();
    this.size = layout.size;
    this.blockSize = layout.blockSize;
    this.shift = Long.numberOfTrailingZeros(blockSize);
    this.bitmapBytes = layout.bitmapBytes;
    this.footprint = layout.blockFootprint();
    this.footer = layout.footer;
    this.bat = new Bat(layout.bat, layout.tableOffset);
    this.bitmaps = new Bitmaps(bitmapBytes, this::loadBitmap);
    this.fileLength = new AtomicLong(layout.length);
    rescan();
  }

  /**
   * Recomputes where blocks go and which may be written, from the BAT and the file as they are;
   * returns the scan.
   */
  BlockScan rescan() throws IOException {
    long length = file.size();
    fileLength.set(length);
    long footerAt = footerPlace(file, length);
    BlockScan scan = BlockScan.of(layout, bat, length, footerAt);
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

  long fileLength() {
    return fileLength.get();
  }

  long nextFree() {
    synchronized (allocation) {
      return nextFree;
    }
  }

  private byte[] loadBitmap(int block) throws IOException {
    long at = Bat.offsetOf(bat.get(block));
    if (at + bitmapBytes > fileLength.get()) {
      throw new CorruptImageException(location, "the sector bitmap of block " + block + " (at "
          + "offset " + at + ") lies past the end of the file (" + fileLength.get() + " bytes)");
    }
    return VpcFile.read(file, at, bitmapBytes).array();
  }

  // ---------------------------------------------------------------- reading

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
    if (base + bitmapBytes > fileLength.get()) {
      throw new DataUnavailableException("Cannot read image '" + location + "': block " + block
          + " (virtual bytes " + pos + ".." + (pos + n) + ") has its sector bitmap at offset "
          + base + ", past the end of the file (" + fileLength.get() + " bytes); the image is "
          + "truncated", pos, n);
    }
    return bitmaps.get(block);
  }

  private void readData(int block, long host, long virt, ByteBuffer dst) throws IOException {
    int len = dst.remaining();
    long eof = fileLength.get();
    if (host + len > eof) {
      long readable = Math.max(0, eof - host);
      throw new DataUnavailableException("Cannot read image '" + location + "': block " + block
          + " (virtual bytes " + virt + ".." + (virt + len) + ") has its data at file offset "
          + host + ".." + (host + len) + ", past the end of the file (" + eof + " bytes); the "
          + "image is truncated", virt + readable, len - readable);
    }
    file.read(host, dst);
  }

  // ---------------------------------------------------------------- status

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
    if (base + bitmapBytes > fileLength.get()) {
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

  // ---------------------------------------------------------------- writing

  /**
   * Writes {@code length} bytes of {@code src} (null: zeros) at {@code offset}; when blocks were
   * allocated or bitmaps changed, their metadata is committed before this returns.
   */
  void write(long offset, ByteBuffer src, long length) throws IOException {
    long pos = offset;
    long end = offset + length;
    boolean changed = false;
    try {
      while (pos < end) {
        int block = (int) (pos >>> shift);
        long in = pos & (blockSize - 1);
        int n = (int) Math.min(blockSize - in, end - pos);
        ByteBuffer piece = null;
        if (src != null) {
          piece = src.slice().limit(n);
          src.position(src.position() + n);
        }
        changed |= writeBlock(block, pos, in, n, piece);
        pos += n;
      }
    } finally {
      if (changed) {
        commit();
      }
    }
  }

  /** Returns whether the block's metadata changed (allocated, or bits set). */
  private boolean writeBlock(int block, long pos, long in, int n, ByteBuffer piece)
      throws IOException {
    int entry = bat.get(block);
    if (Bat.isAllocated(entry)) {
      requireWritable(block, entry);
      byte[] bm = bitmaps.get(block);
      if (Bitmaps.runEnd(bm, in / SECTOR, (in + n + SECTOR - 1) / SECTOR)
          == (in + n + SECTOR - 1) / SECTOR && Bitmaps.isSet(bm, in / SECTOR)) {
        // Every sector is this image's already: in place, no lock. But when the bitmap's bits
        // are not in the file yet (a commit failed, e.g. its flush), some of these sectors may
        // still read the parent or zeros there: writing now would let a crash show part of this
        // write. The bits go first, as for sectors claimed below.
        if (bitmaps.isPending(block)) {
          commit();
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
      requireWritable(block, entry);
      host = claimSectors(block, entry, pos, in, n);
    } finally {
      locks.unlock(block);
    }
    // The claimed sectors read as before; committing their bits first and then writing the data
    // in one request makes the whole write appear at once, even after a crash. (Committing
    // outside the block's lock: a commit takes the locks of every block it copies.)
    commit();
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
    fileLength.accumulateAndGet(data + to, Math::max);
  }

  /**
   * A new block: reserve its place (moving the footer first when it grows the file), zero what an
   * earlier crash may have left there, write the data and the bitmap, then publish the entry,
   * which the next flush writes. In a differencing image only the touched sectors become present
   * (partly written ones completed from the parent); in a dynamic one all of them.
   */
  private void allocate(int block, long pos, long in, int n, ByteBuffer piece)
      throws IOException {
    long[] r = reserve(block);
    long off = r[0];
    long oldLength = r[1];
    boolean written = false;
    try {
      long data = off + bitmapBytes;
      if (oldLength > data) {
        file.writeZeroes(data, Math.min(blockSize, oldLength - data));
      }
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
      fileLength.accumulateAndGet(off + footprint, Math::max);
      written = true;
      bitmaps.put(block, bm);
      bat.set(block, (int) (off / SECTOR));
    } finally {
      if (!written) {
        release(off);
      }
    }
  }

  /** {offset of the new block, file length before it}; writes the moved footer first. */
  private long[] reserve(int block) throws IOException {
    synchronized (allocation) {
      long off = nextFree;
      long end = off + footprint;
      if (off / SECTOR >= 0xffffffffL) {
        throw new BlockException("Cannot allocate block " + block + " in VHD image '" + location
            + "': the file would reach past 2 TiB, which 32-bit BAT entries cannot address");
      }
      long before = fileLength.get();
      if (end > footerPos) {
        // The footer moves first: a crash from here on leaves it at the end of the file.
        file.write(end, footer.encode());
        footerPos = end;
        fileLength.accumulateAndGet(end + Footer.SIZE, Math::max);
      }
      nextFree = end;
      return new long[] {off, before};
    }
  }

  /** Hands a block whose writes failed back, unless a later one was reserved (then it leaks). */
  private void release(long off) {
    synchronized (allocation) {
      if (nextFree == off + footprint) {
        nextFree = off;
      }
    }
  }

  private void writeHost(long host, ByteBuffer piece, long n) throws IOException {
    if (piece == null) {
      file.writeZeroes(host, n);
    } else {
      file.write(host, piece);
    }
    fileLength.accumulateAndGet(host + n, Math::max);
  }

  private void requireWritable(int block, int entry) throws CorruptImageException {
    BitSet u = unsafe;
    if (u.get(block)) {
      throw new CorruptImageException(location, "BAT entry " + block, layout.tableOffset
          + 4L * block, "sector " + Integer.toUnsignedString(entry), "a block that overlaps no "
          + "other block or metadata and lies inside the file; writing it could destroy other "
          + "data. Run a check with repair of all errors first");
    }
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
    long pos = offset;
    long end = offset + length;
    boolean changed = false;
    try {
      while (pos < end) {
        int block = (int) (pos >>> shift);
        long in = pos & (blockSize - 1);
        long n = Math.min(blockSize - in, end - pos);
        if (Bat.isAllocated(bat.get(block))) {
          changed |= zeroInBlock(block, in, n);
        }
        pos += n;
      }
    } finally {
      if (changed) {
        commit();
      }
    }
  }

  /** Returns whether bits were cleared. */
  private boolean zeroInBlock(int block, long in, long n) throws IOException {
    locks.lock(block);
    try {
      int entry = bat.get(block);
      requireWritable(block, entry);
      long data = Bat.offsetOf(entry) + bitmapBytes;
      // One request zeroes the whole range (a crash leaves it all old or all new); then whole
      // sectors lose their bits, so they hold no data.
      long zeroEnd = Math.min(data + in + n, fileLength.get());
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

  private static boolean isAllZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- flush

  /** True when bitmaps or BAT entries wait to be written (a failed write left them). */
  boolean hasChanges() {
    return bat.hasChanges() || bitmaps.hasChanges();
  }

  /**
   * Writes the metadata that points to data written so far: copies of the changed bitmaps and BAT
   * sectors are taken, the file is flushed (so no entry or bit reaches the disk before the data
   * it points to, even on a disk that reorders writes), then the copies are written. Every
   * request that allocates a block or changes a bitmap commits before it returns, so the image
   * on disk always shows each completed request. A change made meanwhile by another request is
   * in a later copy; a failed write leaves its units for the next commit.
   */
  void commit() throws IOException {
    synchronized (flushLock) {
      List<Bitmaps.Copy> maps = bitmaps.changes(locks);
      List<Bat.Sector> sectors = bat.changes();
      if (maps.isEmpty() && sectors.isEmpty()) {
        return;
      }
      file.flush();
      for (Bitmaps.Copy c : maps) {
        file.write(Bat.offsetOf(bat.get(c.block())), ByteBuffer.wrap(c.bytes()));
        bitmaps.written(c);
      }
      bat.write(file, sectors);
    }
  }

  /** Commits what a failed write left, then makes everything durable. */
  void flush() throws IOException {
    commit();
    file.flush();
  }

  // ---------------------------------------------------------------- repairs
  // Called by VpcRepair with the layout lock held exclusively and all metadata flushed.

  /** Copies a block's bitmap and data as the file holds them (zeros past its end) to a new block. */
  long copyToNewBlock(int block) throws IOException {
    long[] r = reserve(block);
    copyRegion(Bat.offsetOf(bat.get(block)), r[0]);
    return r[0];
  }

  /** A new block whose every sector is present and zero; returns where it lies. */
  long newZeroBlock(int block) throws IOException {
    long[] r = reserve(block);
    long data = r[0] + bitmapBytes;
    if (r[1] > data) {
      file.writeZeroes(data, Math.min(blockSize, r[1] - data));
    }
    byte[] bm = new byte[bitmapBytes];
    java.util.Arrays.fill(bm, (byte) 0xff);
    file.write(r[0], ByteBuffer.wrap(bm));
    fileLength.accumulateAndGet(r[0] + footprint, Math::max);
    return r[0];
  }

  /** Copies a block into unreferenced space at {@code to}. */
  void copyBlockTo(int block, long to) throws IOException {
    copyRegion(Bat.offsetOf(bat.get(block)), to);
  }

  /** Zeros from the end of the file to the end of a block cut short by it. */
  void pad(int block) throws IOException {
    long end = Bat.offsetOf(bat.get(block)) + footprint;
    long eof = file.size();
    if (end > eof) {
      file.writeZeroes(eof, end - eof);
      fileLength.accumulateAndGet(end, Math::max);
    }
  }

  /**
   * Points entries at their new places (or unallocates them), after the data the new places
   * hold is made durable: flush, BAT, flush. Cached bitmaps are dropped.
   */
  void setEntries(java.util.Map<Integer, Integer> entries) throws IOException {
    if (entries.isEmpty()) {
      return;
    }
    file.flush();
    for (java.util.Map.Entry<Integer, Integer> e : entries.entrySet()) {
      bat.set(e.getKey(), e.getValue());
    }
    bat.write(file, bat.changes());
    file.flush();
    bitmaps.clear();
  }

  private void copyRegion(long from, long to) throws IOException {
    long eof = file.size();
    ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(footprint, 1 << 20));
    for (long done = 0; done < footprint; done += buffer.capacity()) {
      int n = (int) Math.min(buffer.capacity(), footprint - done);
      buffer.clear().limit(n);
      int stored = (int) Math.max(0, Math.min(n, eof - from - done));
      if (stored > 0) {
        file.read(from + done, buffer.slice().limit(stored));
      }
      java.util.Arrays.fill(buffer.array(), stored, n, (byte) 0);
      buffer.position(0).limit(n);
      file.write(to + done, buffer);
    }
    fileLength.accumulateAndGet(to + footprint, Math::max);
  }
}
