package io.blockkit.vdi;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
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
 * An open VDI image: its layout (header and block map) and the entry points of the parts that read
 * ({@link VdiReader}) and change it: {@link VdiWriter} (writes, zeroing, discard), {@link
 * VdiJournal} (the order metadata reaches the file), {@link VdiCompactor} (compaction), {@link
 * VdiResizer}, {@link VdiIdentity} (UUIDs, comment, parent), {@link VdiCheck}. See the package
 * documentation for the on-disk layout, the write order and the locking scheme.
 */
final class VdiImage extends AbstractBlockDevice {
  /**
   * The header and map in use. Replaced only with both locks held exclusively (resize, amend,
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
  private final VdiReader reader;

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
    this.reader = new VdiReader(this);
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
    reader.read(offset, dst);
  }

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    return reader.blockStatus(offset, length);
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
