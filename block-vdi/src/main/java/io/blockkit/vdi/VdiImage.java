package io.blockkit.vdi;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.StampedLock;

/**
 * An open VDI image. See the package documentation for the on-disk layout, the write order and the
 * locking scheme.
 */
final class VdiImage extends AbstractBlockDevice {
  private static final int STRIPES = 64;
  private static final int COPY_CHUNK = 1 << 20;
  /** Blocks moved per pass over the map when compacting. */
  private static final int COMPACT_BATCH = 1 << 18;

  final VdiHeader header;
  final BlockMap map;
  private final BlockDevice file;
  private final int shift;
  private final long blockSize;
  private final long virtualSize;
  private final Set<Capability> capabilities;

  /**
   * Shared by every request that writes; exclusive while blocks move (discard, repair) or a check
   * runs. Reads take no lock: they validate an optimistic stamp and retry only if blocks moved.
   */
  private final StampedLock layoutLock = new StampedLock();
  /** Serialises allocation of one virtual block (striped by block index). */
  private final ReentrantLock[] allocationLocks = new ReentrantLock[STRIPES];
  /** Serialises metadata writes so the last write of a map sector carries every entry set before it. */
  private final ReentrantLock metadataLock = new ReentrantLock();
  /**
   * Map entries changed in memory whose sectors are not yet written (a request's own, or left by a
   * failed write), and whether the header must be written. Guarded by {@link #metadataLock}; every
   * commit and every flush writes them first, so a failed metadata write is retried before any
   * later flush can succeed.
   */
  private long dirtyFirst = Long.MAX_VALUE;
  private long dirtyLast = -1;
  private boolean headerDirty;
  /** True while any of the above is set; read without the lock to keep clean paths lock-free. */
  private volatile boolean metadataPending;
  /** The next physical block index to hand out. */
  private final AtomicLong nextFree;
  /** Length of the file as far as this session knows (only this session writes it). */
  private final AtomicLong fileLength;
  private final AtomicBoolean modified = new AtomicBoolean();
  private volatile UUID uuidModify;
  /** blocks_allocated as last read from or written to the file. */
  private volatile long headerCount;

  VdiImage(VdiDriver driver, String location, boolean readOnly, BlockDevice file,
      VdiHeader header, BlockMap map, long nextFree, long fileLength) {
    super(driver, location, readOnly, file);
    this.file = file;
    this.header = header;
    this.map = map;
    this.blockSize = header.blockSize;
    this.shift = Long.numberOfTrailingZeros(blockSize);
    this.virtualSize = header.virtualSize();
    this.nextFree = new AtomicLong(nextFree);
    this.fileLength = new AtomicLong(fileLength);
    this.uuidModify = header.uuidModify;
    this.headerCount = header.blocksAllocated;
    for (int i = 0; i < STRIPES; i++) {
      allocationLocks[i] = new ReentrantLock();
    }
    Set<Capability> caps = EnumSet.of(Capability.BLOCK_STATUS, Capability.CHECK);
    if (!readOnly) {
      caps.addAll(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
          Capability.FLUSH, Capability.REPAIR));
    }
    this.capabilities = Set.copyOf(caps);
  }

  @Override
  public long size() {
    return virtualSize;
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  long blockSize() {
    return blockSize;
  }

  /** File offset of the data of physical block {@code phys} (after its extra area). */
  long dataOffset(long phys) {
    return header.dataOffset + phys * header.totalBlockSize() + header.blockExtra;
  }

  long nextFreeBlock() {
    return nextFree.get();
  }

  UUID modificationUuid() {
    return uuidModify;
  }

  BlockDevice file() {
    return file;
  }

  // ---------------------------------------------------------------- reading

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    int start = dst.position();
    long stamp = layoutLock.tryOptimisticRead();
    if (stamp != 0) {
      try {
        readBlocks(offset, dst);
        if (layoutLock.validate(stamp)) {
          return;
        }
      } catch (IOException | RuntimeException e) {
        if (layoutLock.validate(stamp)) {
          throw e;
        }
      }
      dst.position(start);
    }
    // Blocks moved while we read (or are moving): read again with the layout held still.
    stamp = layoutLock.readLock();
    try {
      readBlocks(offset, dst);
    } finally {
      layoutLock.unlockRead(stamp);
    }
  }

  private void readBlocks(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    long end = offset + dst.remaining();
    while (pos < end) {
      long block = pos >>> shift;
      long inBlock = pos & (blockSize - 1);
      long n = Math.min(blockSize - inBlock, end - pos);
      int entry = map.get(block);
      if (!BlockMap.isAllocated(entry)) {
        fillZeros(dst, (int) n);
        pos += n;
        continue;
      }
      long phys = Integer.toUnsignedLong(entry);
      if (phys >= header.blocks) {
        throw entryOutOfRange(block, phys, pos, n);
      }
      // Blocks whose data follow each other in the file are read with one child request.
      long host = dataOffset(phys) + inBlock;
      long run = n;
      long lastBlock = block;
      long lastPhys = phys;
      while (pos + run < end && header.blockExtra == 0) {
        int next = map.get(lastBlock + 1);
        if (!BlockMap.isAllocated(next) || Integer.toUnsignedLong(next) != lastPhys + 1
            || lastPhys + 1 >= header.blocks) {
          break;
        }
        lastBlock++;
        lastPhys++;
        run += Math.min(blockSize, end - pos - run);
      }
      if (host + run > fileLength.get()) {
        throw pastEndOfFile(pos, run);
      }
      ByteBuffer slice = dst.slice().limit((int) run);
      file.read(host, slice);
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
  private DataUnavailableException entryOutOfRange(long block, long phys, long pos, long len) {
    return new DataUnavailableException("Cannot read image '" + location() + "': block " + block
        + " (virtual bytes " + pos + ".." + (pos + len) + ") has block map entry " + phys
        + " (at offset " + mapEntryOffset(block) + "), out of range (physical blocks are numbered "
        + "below blocks_in_image, " + header.blocks + "); the image is corrupt", pos, len);
  }

  private long mapEntryOffset(long block) {
    return header.blocksOffset + 4 * block;
  }

  /**
   * The physical block of an allocated entry that is to be written, or a CorruptImageException
   * when the entry is out of range: writing there would put data at a wild offset of the file.
   */
  private long writablePhysical(long block, int entry) throws CorruptImageException {
    long phys = Integer.toUnsignedLong(entry);
    if (phys >= header.blocks) {
      throw new CorruptImageException(location(), "block map entry " + block, mapEntryOffset(block),
          Long.toString(phys), "a physical block below blocks_in_image (" + header.blocks
              + "); run a check with repair of all errors first");
    }
    return phys;
  }

  /** The error for a read of {@code [pos, pos+len)} some of whose data lie past the end of the file. */
  private DataUnavailableException pastEndOfFile(long pos, long len) throws IOException {
    long eof = fileLength.get();
    long p = pos;
    while (p < pos + len) {
      long block = p >>> shift;
      long inBlock = p & (blockSize - 1);
      long n = Math.min(blockSize - inBlock, pos + len - p);
      long host = dataOffset(Integer.toUnsignedLong(map.get(block))) + inBlock;
      if (host + n > eof) {
        // Report exactly the unreadable bytes, so a salvaging caller keeps what the file holds.
        long readable = Math.max(0, eof - host);
        return new DataUnavailableException("Cannot read image '" + location() + "': block "
            + block + " (virtual bytes " + p + ".." + (p + n) + ") has its data at file offset "
            + host + ".." + (host + n) + ", past the end of the file (" + eof
            + " bytes); the image is truncated", p + readable, n - readable);
      }
      p += n;
    }
    return new DataUnavailableException("Cannot read image '" + location() + "': data at virtual "
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

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    long stamp = layoutLock.tryOptimisticRead();
    if (stamp != 0) {
      try {
        Extent e = status(offset, length);
        if (layoutLock.validate(stamp)) {
          return e;
        }
      } catch (IOException | RuntimeException e) {
        if (layoutLock.validate(stamp)) {
          throw e;
        }
      }
    }
    stamp = layoutLock.readLock();
    try {
      return status(offset, length);
    } finally {
      layoutLock.unlockRead(stamp);
    }
  }

  private Extent status(long offset, long length) throws IOException {
    long end = Math.min(offset + length, virtualSize);
    long block = offset >>> shift;
    long inBlock = offset & (blockSize - 1);
    long len = Math.min(blockSize - inBlock, end - offset);
    int entry = map.get(block);
    if (!BlockMap.isAllocated(entry)) {
      long more = map.unallocatedRun(block + 1, ((end - 1) >>> shift) - block);
      return Extent.zero(offset, Math.min(end, (block + 1 + more) << shift) - offset);
    }
    long phys = Integer.toUnsignedLong(entry);
    if (phys >= header.blocks) {
      // An out-of-range entry (a corruption): data, but at no offset reads could use.
      return new Extent(offset, len, true, false, true, -1, null);
    }
    long host = dataOffset(phys) + inBlock;
    while (offset + len < end && header.blockExtra == 0) {
      int next = map.get(block + 1);
      if (!BlockMap.isAllocated(next) || Integer.toUnsignedLong(next) != phys + 1
          || phys + 1 >= header.blocks) {
        break;
      }
      block++;
      phys++;
      len += Math.min(blockSize, end - offset - len);
    }
    return Extent.data(offset, len, host, file);
  }

  // ---------------------------------------------------------------- writing

  /** Changed map entries and whether the header must be rewritten, for one request. */
  private static final class Changes {
    long first = Long.MAX_VALUE;
    long last = -1;
    boolean header;

    void entry(long block) {
      first = Math.min(first, block);
      last = Math.max(last, block);
    }

    /** The entries {@code [first, last]}, no header change (yet). */
    static Changes entries(long first, long last) {
      Changes c = new Changes();
      c.entry(first);
      c.entry(last);
      return c;
    }
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    long stamp = layoutLock.readLock();
    Changes changes = new Changes();
    try {
      long pos = offset;
      long end = offset + src.remaining();
      while (pos < end) {
        long block = pos >>> shift;
        long inBlock = pos & (blockSize - 1);
        int n = (int) Math.min(blockSize - inBlock, end - pos);
        ByteBuffer part = src.slice().limit(n);
        writeBlock(block, inBlock, part, changes);
        src.position(src.position() + n);
        pos += n;
      }
    } finally {
      try {
        commit(changes);
      } finally {
        layoutLock.unlockRead(stamp);
      }
    }
  }

  private void writeBlock(long block, long inBlock, ByteBuffer data, Changes changes)
      throws IOException {
    int entry = map.get(block);
    if (BlockMap.isAllocated(entry)) {
      writeInPlace(block, entry, inBlock, data, changes);
      return;
    }
    if (isAllZero(data)) {
      // The block already reads as zeros: nothing to store, nothing to allocate.
      return;
    }
    ReentrantLock lock = allocationLocks[(int) (block % STRIPES)];
    lock.lock();
    try {
      entry = map.get(block);
      if (BlockMap.isAllocated(entry)) {
        // A concurrent request allocated the block while we waited.
        writeInPlace(block, entry, inBlock, data, changes);
        return;
      }
      long phys = allocatePhysical(block);
      long total = header.totalBlockSize();
      long start = header.dataOffset + phys * total;
      markModified(changes);
      // The data, and zeros around it as a punched hole or a grown file: no block-sized buffer,
      // and nothing written for the zeros where the child can zero cheaply.
      long head = header.blockExtra + inBlock;
      boolean written = false;
      try {
        int n = data.remaining();
        if (head > 0) {
          file.writeZeroes(start, head);
        }
        file.write(start + head, data);
        if (head + n < total) {
          file.writeZeroes(start + head + n, total - head - n);
        }
        written = true;
      } finally {
        if (!written) {
          // Hand the block back unless a later allocation took the next one meanwhile (then it
          // stays a leak): nothing refers to it, and the next allocation rewrites all of it.
          nextFree.compareAndSet(phys + 1, phys);
        }
      }
      fileLength.accumulateAndGet(start + total, Math::max);
      // Publish only after the data is in place: readers see zeros or the whole block. The entry
      // is marked unwritten before anyone can see it, so that a flush after another request's
      // write into this block writes the entry even if this request has not committed yet.
      publish(block, (int) phys);
      changes.entry(block);
      changes.header = true;
    } finally {
      lock.unlock();
    }
  }

  private void writeInPlace(long block, int entry, long inBlock, ByteBuffer data,
      Changes changes) throws IOException {
    long host = dataOffset(writablePhysical(block, entry)) + inBlock;
    markModified(changes);
    int n = data.remaining();
    file.write(host, data);
    fileLength.accumulateAndGet(host + n, Math::max);
  }

  private long allocatePhysical(long block) throws IOException {
    long phys = nextFree.getAndIncrement();
    if (phys >= header.blocks) {
      nextFree.decrementAndGet();
      throw new BlockException("Cannot allocate block " + block + " in image '" + location()
          + "': every physical block index below blocks_in_image (" + header.blocks
          + ") is taken, some of them by leaked space; run a check with repair first");
    }
    return phys;
  }

  /** The first modifying request of a session gives the image a new modification UUID, as VirtualBox does. */
  private void markModified(Changes changes) {
    if (!modified.get() && modified.compareAndSet(false, true)) {
      uuidModify = UUID.randomUUID();
      changes.header = true;
    }
  }

  /**
   * Adds a request's changes to the unwritten metadata and writes all of it: see {@link
   * #writeDirtyMetadata}.
   */
  private void commit(Changes changes) throws IOException {
    if (changes.last < 0 && !changes.header) {
      return;
    }
    metadataLock.lock();
    try {
      addDirty(changes);
      writeDirtyMetadata();
    } finally {
      metadataPending = headerDirty || dirtyLast >= 0;
      metadataLock.unlock();
    }
  }

  /**
   * Writes whatever metadata is unwritten: left by a failed write, or published by a request that
   * has not committed yet.
   */
  private void writePendingMetadata() throws IOException {
    if (!metadataPending) {
      return;
    }
    metadataLock.lock();
    try {
      writeDirtyMetadata();
    } finally {
      metadataPending = headerDirty || dirtyLast >= 0;
      metadataLock.unlock();
    }
  }

  /**
   * Sets a new block's entry, marked unwritten in the same step: no metadata write can fall
   * between the two and leave a visible entry that nothing will write.
   */
  private void publish(long block, int phys) throws IOException {
    metadataLock.lock();
    try {
      dirtyFirst = Math.min(dirtyFirst, block);
      dirtyLast = Math.max(dirtyLast, block);
      metadataPending = true;
      map.set(block, phys);
    } finally {
      metadataLock.unlock();
    }
  }

  /** Records changes as unwritten without writing them (a later commit or flush does). */
  private void markDirty(Changes changes) {
    metadataLock.lock();
    try {
      addDirty(changes);
    } finally {
      metadataLock.unlock();
    }
  }

  private void addDirty(Changes changes) {
    dirtyFirst = Math.min(dirtyFirst, changes.first);
    dirtyLast = Math.max(dirtyLast, changes.last);
    headerDirty |= changes.header;
    metadataPending = headerDirty || dirtyLast >= 0;
  }

  /**
   * Writes the unwritten map sectors and, when needed, the header (at most one write each, except
   * for repairs of huge maps). Caller holds {@link #metadataLock} and the layout lock (shared or
   * exclusive).
   *
   * <p>The file must never hold a map entry using a physical block at or past its
   * blocks_allocated: QEMU and VirtualBox allocate there and would overwrite the block. So the
   * map sectors are taken first (with entries other requests set meanwhile, which may use blocks
   * they have just allocated), then the count: every block an entry uses was counted in {@link
   * #nextFree} before the entry was set. The header goes first when the count rises or stays
   * (a crash in between leaks the new blocks), and last when it falls, which only compaction
   * does after the map stopped using the blocks. A failed write leaves its part dirty.
   */
  private void writeDirtyMetadata() throws IOException {
    BlockMap.Sectors sectors = dirtyLast >= 0 ? map.sectors(dirtyFirst, dirtyLast) : null;
    long count = nextFree.get();
    boolean needHeader = headerDirty || sectors != null && sectors.highestBlock() >= headerCount;
    if (sectors != null && count < headerCount) {
      writeMapSectors(sectors);
      sectors = null;
    }
    if (needHeader) {
      file.write(0, header.encode(count, uuidModify));
      headerCount = count;
      headerDirty = false;
    }
    if (sectors != null) {
      writeMapSectors(sectors);
    }
  }

  private void writeMapSectors(BlockMap.Sectors sectors) throws IOException {
    map.write(sectors);
    dirtyFirst = Long.MAX_VALUE;
    dirtyLast = -1;
  }

  private static boolean isAllZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    zeroRange(offset, length);
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    zeroRange(offset, length);
  }

  /**
   * Whole blocks become ZERO entries without touching data; partial ranges of allocated blocks are
   * overwritten with zeros in place. Allocated blocks that become ZERO leave a hole that is filled
   * by moving the last physical block into it, as VirtualBox's discard does, so the physical blocks
   * stay dense and {@code blocks_allocated} stays equal to the number of allocated entries.
   */
  private void zeroRange(long offset, long length) throws IOException {
    List<Long> release = new ArrayList<>();
    long stamp = layoutLock.readLock();
    Changes changes = new Changes();
    try {
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        long block = pos >>> shift;
        long blockStart = block << shift;
        long blockEnd = Math.min(blockStart + blockSize, virtualSize);
        long n = Math.min(blockEnd, end) - pos;
        boolean whole = pos == blockStart && pos + n == blockEnd;
        int entry = map.get(block);
        if (whole && header.type == VdiHeader.TYPE_FIXED && BlockMap.isAllocated(entry)) {
          // A fixed image keeps every block it preallocated: zero the data, not the entry.
          long host = dataOffset(writablePhysical(block, entry));
          markModified(changes);
          file.writeZeroes(host, n);
          fileLength.accumulateAndGet(host + n, Math::max);
        } else if (whole) {
          if (BlockMap.isAllocated(entry)) {
            release.add(block);
          } else if (entry == BlockMap.FREE) {
            ReentrantLock lock = allocationLocks[(int) (block % STRIPES)];
            lock.lock();
            try {
              if (map.get(block) == BlockMap.FREE) {
                markModified(changes);
                map.set(block, BlockMap.ZERO);
                changes.entry(block);
              } else if (BlockMap.isAllocated(map.get(block))) {
                release.add(block);
              }
            } finally {
              lock.unlock();
            }
          }
        } else if (BlockMap.isAllocated(entry)) {
          long host = dataOffset(writablePhysical(block, entry)) + (pos - blockStart);
          markModified(changes);
          file.writeZeroes(host, n);
          fileLength.accumulateAndGet(host + n, Math::max);
        }
        pos += n;
      }
    } finally {
      try {
        commit(changes);
      } finally {
        layoutLock.unlockRead(stamp);
      }
    }
    if (!release.isEmpty()) {
      stamp = layoutLock.writeLock();
      try {
        releaseBlocks(release);
      } finally {
        layoutLock.unlockWrite(stamp);
      }
    }
  }

  /** Turns allocated whole blocks into ZERO entries and compacts. Holds the layout lock exclusively. */
  private void releaseBlocks(List<Long> blocks) throws IOException {
    long first = Long.MAX_VALUE;
    long last = -1;
    for (long block : blocks) {
      if (BlockMap.isAllocated(map.get(block))) {
        map.set(block, BlockMap.ZERO);
        first = Math.min(first, block);
        last = Math.max(last, block);
      }
    }
    if (last < 0) {
      return;
    }
    compact(Changes.entries(first, last));
  }

  /**
   * Moves the highest physical blocks into unreferenced physical blocks below them, then rewrites
   * blocks_allocated and truncates the file after the last block in use. Order: every unwritten
   * map entry (those that freed blocks among them), flush, copy data, flush, map, header, flush,
   * truncate, so a crash at any point leaves at worst a leak. The count falls only once the map
   * written to the file has stopped using the blocks past it, so no new block can go where the
   * file still keeps an old one. Caller holds the layout lock exclusively.
   *
   * @return the number of blocks moved
   */
  long packBlocks() throws IOException {
    return compact(new Changes());
  }

  private long compact(Changes freed) throws IOException {
    markModified(freed);
    // The entries that freed blocks (and any other unwritten metadata) must be durable before
    // moved data overwrites those blocks.
    commit(freed);
    writePendingMetadata();
    file.flush();
    long count = Math.min(nextFree.get(), header.blocks);
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
      int[] from = new int[COMPACT_BATCH];
      int[] to = new int[COMPACT_BATCH];
      int n = 0;
      int top = used.length() - 1;
      int hole = used.nextClearBit(0);
      while (n < COMPACT_BATCH && hole < top) {
        from[n] = top;
        to[n] = hole;
        n++;
        top = used.previousSetBit(top - 1);
        hole = used.nextClearBit(hole + 1);
      }
      if (n == 0) {
        break;
      }
      long[] owners = ownersOf(from, n);
      if (buffer == null) {
        buffer = newCopyBuffer();
      }
      for (int i = 0; i < n; i++) {
        copyBlock(from[i], to[i], buffer);
      }
      file.flush();
      for (int i = 0; i < n; i++) {
        map.set(owners[i], to[i]);
        used.clear(from[i]);
        used.set(to[i]);
      }
      writeMovedEntries(owners);
      // Everything set so far is written (a failure would have thrown): pages may be dropped.
      map.releasePinned();
      moved += n;
    }
    long newCount = used.length();
    nextFree.set(newCount);
    Changes lowerCount = new Changes();
    lowerCount.header = true;
    commit(lowerCount);
    file.flush();
    long newLength = header.dataOffset + newCount * header.totalBlockSize();
    if (fileLength.get() > newLength && file.capabilities().contains(Capability.RESIZE)) {
      file.truncate(newLength);
      fileLength.set(newLength);
    }
    return moved;
  }

  /**
   * The virtual block using each of {@code phys[0..n)} (strictly decreasing physical indexes), in
   * one pass over the map.
   */
  private long[] ownersOf(int[] phys, int n) throws IOException {
    long[] owners = new long[n];
    java.util.Arrays.fill(owners, -1);
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
    java.util.Arrays.sort(sorted);
    int i = 0;
    while (i < sorted.length) {
      int j = i;
      while (j + 1 < sorted.length && sorted[j + 1] - sorted[j] <= 128) {
        j++;
      }
      try {
        commit(Changes.entries(sorted[i], sorted[j]));
      } catch (IOException e) {
        if (j + 1 < sorted.length) {
          markDirty(Changes.entries(sorted[j + 1], sorted[sorted.length - 1]));
        }
        throw e;
      }
      i = j + 1;
    }
  }

  /** A buffer for {@link #copyBlock}: a block, at most 1 MiB. */
  ByteBuffer newCopyBuffer() {
    return ByteBuffer.allocate((int) Math.min(COPY_CHUNK, header.totalBlockSize()));
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
    long total = header.totalBlockSize();
    long src = header.dataOffset + from * total;
    long dst = header.dataOffset + to * total;
    long eof = fileLength.get();
    long stored = Math.max(0, Math.min(total, eof - src));
    for (long done = 0; done < stored; done += buffer.capacity()) {
      int n = (int) Math.min(buffer.capacity(), stored - done);
      buffer.clear().limit(n);
      file.read(src + done, buffer);
      buffer.flip();
      file.write(dst + done, buffer);
    }
    long zeroEnd = Math.min(dst + total, eof);
    if (dst + stored < zeroEnd) {
      file.writeZeroes(dst + stored, zeroEnd - dst - stored);
    }
  }

  /** Writes the metadata failed writes left unwritten, then flushes the file. */
  @Override
  protected void doFlush() throws IOException {
    if (metadataPending) {
      long stamp = layoutLock.readLock();
      try {
        writePendingMetadata();
      } finally {
        layoutLock.unlockRead(stamp);
      }
    }
    file.flush();
  }

  /** A last try at metadata failed writes left unwritten; the file is not flushed, as before. */
  @Override
  protected void doClose() throws IOException {
    writePendingMetadata();
  }

  // ---------------------------------------------------------------- check, info

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    long stamp = layoutLock.writeLock();
    try {
      return new VdiCheck(this).run(mode);
    } finally {
      layoutLock.unlockWrite(stamp);
    }
  }

  /** For {@link VdiCheck}: the file length, re-read from the child. */
  long refreshFileLength() throws IOException {
    long len = file.size();
    fileLength.set(len);
    return len;
  }

  /** blocks_allocated as the file holds it now. */
  long headerCount() {
    return headerCount;
  }

  /** For {@link VdiCheck}: where the next allocation goes (compaction starts from it). */
  void setNextFree(long count) {
    nextFree.set(count);
  }

  /** For {@link VdiCheck}: writes entries it changed in memory, as a request would. */
  void writeEntries(long first, long last) throws IOException {
    Changes changes = Changes.entries(first, last);
    markModified(changes);
    commit(changes);
  }

  /** For {@link VdiCheck}: marks the session modified (new modification UUID on the next header write). */
  void markRepaired() {
    markModified(new Changes());
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    return new ImageInfo(location(), driver().name(), virtualSize, allocatedSize(), blockSize,
        false, formatSpecific());
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", header.typeName());
    m.put("version", header.versionText());
    m.put("header-size", Integer.toUnsignedLong(header.headerSize));
    m.put("block-size", blockSize);
    m.put("block-extra", header.blockExtra);
    m.put("blocks", header.blocks);
    m.put("blocks-allocated", isReadOnly() ? header.blocksAllocated : nextFree.get());
    m.put("block-map-offset", header.blocksOffset);
    m.put("data-offset", header.dataOffset);
    m.put("image-uuid", header.uuidCreate.toString());
    m.put("modification-uuid", uuidModify.toString());
    m.put("parent-uuid", header.uuidLinkage.toString());
    m.put("parent-modification-uuid", header.uuidParentModify.toString());
    m.put("comment", header.comment);
    if (header.lchsGeometry != null) {
      Map<String, Object> lchs = new LinkedHashMap<>();
      lchs.put("cylinders", Integer.toUnsignedLong(header.lchsGeometry[0]));
      lchs.put("heads", Integer.toUnsignedLong(header.lchsGeometry[1]));
      lchs.put("sectors", Integer.toUnsignedLong(header.lchsGeometry[2]));
      m.put("lchs", lchs);
    }
    if (header.diskSize != virtualSize) {
      m.put("disk-size", header.diskSize);
    }
    return m;
  }

  static UnsupportedFeatureException differencingUnsupported(String location, VdiHeader h,
      long freeBlocks) {
    return new UnsupportedFeatureException("VDI image '" + location + "' is a differencing image "
        + "(type " + h.type + ", parent UUID " + h.uuidLinkage + ") in which " + freeBlocks
        + " block(s) are left to the parent image; backing images are not supported, so these "
        + "blocks cannot be read. Merge the snapshot chain with VirtualBox (or clone the disk) "
        + "first");
  }
}
