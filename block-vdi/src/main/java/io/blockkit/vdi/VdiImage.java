package io.blockkit.vdi;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.options.Options;
import io.blockkit.vdi.VdiJournal.Changes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;

/**
 * An open VDI image: its layout (header and block map), the read path and block status, and the
 * entry points of the parts that change it: {@link VdiWriter} (writes, zeroing, discard), {@link
 * VdiJournal} (the order metadata reaches the file), {@link VdiCompactor} (compaction), {@link
 * VdiResizer}, {@link VdiIdentity} (UUIDs, comment, parent), {@link VdiCheck}. See the package
 * documentation for the on-disk layout, the write order and the locking scheme.
 */
final class VdiImage extends AbstractBlockDevice {
  /**
   * The header and map in use. Replaced only under the exclusive layout lock (resize, amend,
   * rebase); requests read them once under the shared lock or an optimistic stamp.
   */
  volatile VdiHeader header;
  volatile BlockMap map;

  /**
   * Shared by every request that writes (and a flush writing their metadata); exclusive while
   * blocks move (discard, compaction, repair), the layout changes or a check runs. Readers never
   * take it, so they go on while a compaction copies blocks.
   */
  final StampedLock changeLock = new StampedLock();
  /**
   * What readers validate: held exclusively, briefly, whenever entries or a header they use
   * change under a held {@link #changeLock} (blocks released or moved, a new layout). Reads take
   * no lock: they validate an optimistic stamp and retry, under its shared lock, only if such a
   * change happened meanwhile.
   */
  final StampedLock layoutLock = new StampedLock();

  /** An action on the image that may fail. */
  interface IoAction<T> {
    T run() throws IOException;
  }

  private final BlockDevice file;
  private final int shift;
  private final long blockSize;
  private final int mapPageShift;
  private final int mapCachePages;
  private final Set<Capability> capabilities;
  /** Length of the file as far as this session knows (only this session writes it). */
  private final AtomicLong fileLength;
  private final VdiJournal journal;
  private final VdiWriter writer;
  private final VdiCompactor compactor;
  private final VdiIdentity identity;

  VdiImage(VdiDriver driver, String location, boolean readOnly, BlockDevice file,
      VdiHeader header, BlockMap map, long nextFree, long fileLength, BlockDevice backing,
      VdiParent parent) {
    super(driver, location, readOnly, file, backing);
    this.file = file;
    this.header = header;
    this.map = map;
    this.blockSize = header.blockSize;
    this.shift = Long.numberOfTrailingZeros(blockSize);
    this.mapPageShift = driver.mapPageShift();
    this.mapCachePages = driver.mapCachePages();
    this.fileLength = new AtomicLong(fileLength);
    this.journal = new VdiJournal(this, header, nextFree);
    this.writer = new VdiWriter(this, journal);
    this.compactor = new VdiCompactor(this, journal);
    this.identity = new VdiIdentity(this, journal, parent);
    Set<Capability> caps = EnumSet.of(Capability.BLOCK_STATUS, Capability.CHECK);
    if (!readOnly) {
      caps.addAll(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
          Capability.FLUSH, Capability.REPAIR, Capability.RESIZE));
    }
    this.capabilities = Set.copyOf(caps);
  }

  @Override
  public long size() {
    return header.virtualSize();
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  // ---------------------------------------------------------------- for the parts

  BlockDevice file() {
    return file;
  }

  long blockSize() {
    return blockSize;
  }

  int shift() {
    return shift;
  }

  /** File offset of the data of physical block {@code phys} (after its extra area). */
  long dataOffset(long phys) {
    VdiHeader h = header;
    return h.dataOffset + phys * h.totalBlockSize() + h.blockExtra;
  }

  long mapEntryOffset(long block) {
    return header.blocksOffset + 4 * block;
  }

  long nextFreeBlock() {
    return journal.nextFree.get();
  }

  UUID modificationUuid() {
    return journal.modificationUuid();
  }

  /** True once this session changed the image. */
  boolean modifiedThisSession() {
    return journal.modified();
  }

  long fileLength() {
    return fileLength.get();
  }

  void setFileLength(long length) {
    fileLength.set(length);
  }

  void fileGrewTo(long end) {
    fileLength.accumulateAndGet(end, Math::max);
  }

  /** The file length, re-read from the child. */
  long refreshFileLength() throws IOException {
    long len = file.size();
    fileLength.set(len);
    return len;
  }

  /** What a FREE block of a differencing image reads: the parent's bytes, zeros past its end. */
  void readParent(long offset, ByteBuffer dst) throws IOException {
    readBacking(offset, dst);
  }

  VdiCompactor compactor() {
    return compactor;
  }

  /**
   * Makes {@code next} the image's header, with a fresh map when the map's place or size changed
   * (a resize, which has written every change of the old one). Caller holds both locks
   * exclusively.
   */
  void replaceLayout(VdiHeader next) {
    VdiHeader old = header;
    if (next.blocksOffset != old.blocksOffset || next.blocks != old.blocks) {
      map = new BlockMap(file, next.blocksOffset, next.blocks, mapPageShift, mapCachePages);
    }
    header = next;
  }

  /** Runs {@code a} with writers held off ({@link #changeLock} exclusive); readers go on. */
  <T> T withoutWriters(IoAction<T> a) throws IOException {
    long stamp = changeLock.writeLock();
    try {
      return a.run();
    } finally {
      changeLock.unlockWrite(stamp);
    }
  }

  /**
   * Runs {@code a} with readers held off too; the caller holds {@link #changeLock} exclusively
   * (or {@code held} is true: this thread holds both locks already).
   */
  <T> T withoutReaders(boolean held, IoAction<T> a) throws IOException {
    if (held) {
      return a.run();
    }
    long stamp = layoutLock.writeLock();
    try {
      return a.run();
    } finally {
      layoutLock.unlockWrite(stamp);
    }
  }

  /** Runs {@code a} with every writer and reader held off: a layout change, a check. */
  <T> T exclusively(IoAction<T> a) throws IOException {
    return withoutWriters(() -> withoutReaders(false, a));
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
    VdiHeader h = header;
    BlockMap m = map;
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
          readBacking(pos, dst.slice().limit((int) n));
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
      long host = dataOffset(phys) + inBlock;
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
  private DataUnavailableException entryOutOfRange(VdiHeader h, long block, long phys, long pos,
      long len) {
    return new DataUnavailableException("Cannot read image '" + location() + "': block " + block
        + " (virtual bytes " + pos + ".." + (pos + len) + ") has block map entry " + phys
        + " (at offset " + mapEntryOffset(block) + "), out of range (physical blocks are numbered "
        + "below blocks_in_image, " + h.blocks + "); the image is corrupt", pos, len);
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

  /**
   * One run of blocks with the same status. FREE blocks of a differencing image are left to the
   * parent (not allocated); ZERO blocks, and FREE ones of a base image, read zeros.
   */
  private Extent status(long offset, long length) throws IOException {
    VdiHeader h = header;
    BlockMap m = map;
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
    long host = dataOffset(phys) + inBlock;
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
    return Extent.data(offset, len, host, file);
  }

  // ---------------------------------------------------------------- changing

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    writer.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    writer.zeroRange(offset, length, false);
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    writer.zeroRange(offset, length, true);
  }

  @Override
  protected void doCompact() throws IOException {
    compactor.compact();
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    exclusively(() -> {
      new VdiResizer(this, journal).resize(newSize);
      return null;
    });
  }

  @Override
  protected void doAmend(Options options) throws IOException {
    identity.amend(options);
  }

  @Override
  protected void doChangeBacking(BackingLink link, BlockDevice newBacking) throws IOException {
    identity.changeParent(link, newBacking);
  }

  @Override
  protected BackingLink backingLink() throws IOException {
    return identity.link();
  }

  /** Writes the metadata failed writes left unwritten, then flushes the file. */
  @Override
  protected void doFlush() throws IOException {
    identity.followParent();
    if (journal.pending()) {
      long stamp = changeLock.readLock();
      try {
        journal.writePending();
      } finally {
        changeLock.unlockRead(stamp);
      }
    }
    file.flush();
  }

  /** A last try at metadata failed writes left unwritten; the file is not flushed, as before. */
  @Override
  protected void doClose() throws IOException {
    if (!isReadOnly()) {
      identity.followParent();
    }
    journal.writePending();
  }

  // ---------------------------------------------------------------- check, info

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    return exclusively(() -> new VdiCheck(this).run(mode));
  }

  /** blocks_allocated as the file holds it now. */
  long headerCount() {
    return journal.headerCount();
  }

  /** For {@link VdiCheck}: where the next allocation goes (compaction starts from it). */
  void setNextFree(long count) {
    journal.nextFree.set(count);
  }

  /** For {@link VdiCheck}: writes entries it changed in memory, as a request would. */
  void writeEntries(long first, long last) throws IOException {
    Changes changes = Changes.entries(first, last);
    journal.markModified(changes);
    journal.commit(changes);
  }

  /** For {@link VdiCheck}: marks the session modified (new modification UUID on the next header write). */
  void markRepaired() {
    journal.markModified(new Changes());
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    return new ImageInfo(location(), driver().name(), size(), allocatedSize(), blockSize,
        false, formatSpecific(), backingLink());
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    VdiHeader h = header;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", h.typeName());
    m.put("version", h.versionText());
    m.put("header-size", Integer.toUnsignedLong(h.headerSize));
    m.put("block-size", blockSize);
    m.put("block-extra", h.blockExtra);
    m.put("blocks", h.blocks);
    m.put("blocks-allocated", isReadOnly() ? h.blocksAllocated : journal.nextFree.get());
    m.put("block-map-offset", h.blocksOffset);
    m.put("data-offset", h.dataOffset);
    m.put("image-uuid", h.uuidCreate.toString());
    m.put("modification-uuid", journal.modificationUuid().toString());
    m.put("parent-uuid", h.uuidLinkage.toString());
    m.put("parent-modification-uuid", h.uuidParentModify.toString());
    m.put("comment", h.comment);
    if (h.lchsGeometry != null) {
      Map<String, Object> lchs = new LinkedHashMap<>();
      lchs.put("cylinders", Integer.toUnsignedLong(h.lchsGeometry[0]));
      lchs.put("heads", Integer.toUnsignedLong(h.lchsGeometry[1]));
      lchs.put("sectors", Integer.toUnsignedLong(h.lchsGeometry[2]));
      m.put("lchs", lchs);
    }
    if (h.diskSize != h.virtualSize()) {
      m.put("disk-size", h.diskSize);
    }
    return m;
  }
}
