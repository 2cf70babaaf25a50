package io.blockkit.vhdx;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.StampedLock;

/**
 * An open VHDX image: reads and block status from the BAT's states (with the sector bitmap and
 * the parent for differencing images), writes through {@link BlockWriter}, check through {@link
 * VhdxCheck}. See the package documentation for the crash model and the locking.
 */
final class VhdxImage extends AbstractBlockDevice {
  final ImageFile file;
  final Headers headers;
  final RegionTable regions;
  final Metadata metadata;
  final Geometry geometry;
  final Bat bat;
  /** Null for read-only opens. */
  final MetadataWriter writer;
  final BlockWriter blocks;
  final boolean differencing;
  final boolean fixed;
  final long blockSize;
  final int sectorSize;
  /** What the open found in the log: null when clean, else a note for check and info. */
  final String logNote;
  /** What is wrong with the region table copy not used, until a repair rewrites both. */
  volatile String regionProblem;
  private final BackingLink link;
  private final Set<Capability> capabilities;
  /**
   * Readers validate an optimistic stamp; writers hold the read lock; whatever frees blocks (a
   * whole-block zero or discard) or rewrites the layout (check and repair) holds the write lock,
   * so no read ever uses a block after its space is reused.
   */
  final StampedLock layout = new StampedLock();

  VhdxImage(VhdxDriver driver, String location, boolean readOnly, BlockDevice child,
      BlockDevice backing, BackingLink link, ImageFile file, Headers headers,
      RegionTable regions, Metadata metadata, PageCache pages, SpaceMap space, String logNote) {
    super(driver, location, readOnly, child, backing);
    this.file = file;
    this.headers = headers;
    this.regions = regions;
    this.metadata = metadata;
    this.differencing = metadata.hasParent();
    this.fixed = metadata.leaveBlockAllocated() && !differencing;
    this.blockSize = metadata.blockSize();
    this.sectorSize = metadata.logicalSectorSize();
    this.geometry = new Geometry(metadata.virtualSize(), blockSize, sectorSize, differencing);
    this.bat = new Bat(geometry, regions.bat().offset(), regions.bat().length(), pages);
    this.writer = readOnly ? null : new MetadataWriter(file, headers, pages, space);
    this.blocks = readOnly ? null : new BlockWriter(this);
    this.link = link;
    this.logNote = logNote;
    this.regionProblem = regions.problem();
    Set<Capability> caps = EnumSet.of(Capability.BLOCK_STATUS, Capability.CHECK);
    if (!readOnly) {
      caps.addAll(EnumSet.of(Capability.WRITE, Capability.WRITE_ZEROES, Capability.DISCARD,
          Capability.FLUSH, Capability.REPAIR));
    }
    this.capabilities = Set.copyOf(caps);
  }

  @Override
  public long size() {
    return metadata.virtualSize();
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  /** The bytes of the last block that lie inside the disk. */
  long blockLength(long block) {
    return Math.min(blockSize, size() - block * blockSize);
  }

  /** Reads the parent's bytes (zeros past its end or with none), for differencing images. */
  void readParent(long offset, ByteBuffer dst) throws IOException {
    readBacking(offset, dst);
  }

  // ---------------------------------------------------------------- reading

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    int start = dst.position();
    long stamp = layout.tryOptimisticRead();
    if (stamp != 0) {
      try {
        readBlocks(offset, dst);
        if (layout.validate(stamp)) {
          return;
        }
      } catch (IOException | RuntimeException e) {
        if (layout.validate(stamp)) {
          throw e;
        }
      }
      dst.position(start);
    }
    stamp = layout.readLock();
    try {
      readBlocks(offset, dst);
    } finally {
      layout.unlockRead(stamp);
    }
  }

  private void readBlocks(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    long end = offset + dst.remaining();
    while (pos < end) {
      long block = pos / blockSize;
      long inBlock = pos % blockSize;
      int n = (int) Math.min(blockSize - inBlock, end - pos);
      ByteBuffer part = dst.slice().limit(n);
      readInBlock(block, inBlock, part, pos);
      dst.position(dst.position() + n);
      pos += n;
    }
  }

  private void readInBlock(long block, long inBlock, ByteBuffer part, long pos)
      throws IOException {
    long e = bat.payload(block);
    int state = BatState.state(e);
    if (state == BatState.FULLY_PRESENT
        || state == BatState.PARTIALLY_PRESENT && !bat.usesBitmap(block)) {
      readStored(block, BatState.offset(e) + inBlock, part, pos);
    } else if (state == BatState.PARTIALLY_PRESENT) {
      readPartial(block, e, inBlock, part, pos);
    } else if (state == BatState.NOT_PRESENT && differencing) {
      readParent(pos, part);
    } else {
      fillZeros(part, part.remaining());
    }
  }

  /** Reads sector runs of a PARTIALLY_PRESENT block: present ones from the file, the rest from the parent. */
  private void readPartial(long block, long entry, long inBlock, ByteBuffer part, long pos)
      throws IOException {
    requireBitmapInFile(block, pos, part.remaining());
    long at = inBlock;
    long end = inBlock + part.remaining();
    while (at < end) {
      long sector = at / sectorSize;
      long lastSector = (end - 1) / sectorSize;
      long run = bat.presenceRun(block, sector, lastSector - sector + 1);
      long runEnd = Math.min(end, (sector + run) * sectorSize);
      int n = (int) (runEnd - at);
      ByteBuffer piece = part.slice().limit(n);
      if (bat.sectorPresent(block, sector)) {
        readStored(block, BatState.offset(entry) + at, piece, pos + (at - inBlock));
      } else {
        readParent(pos + (at - inBlock), piece);
      }
      part.position(part.position() + n);
      at = runEnd;
    }
  }

  private void requireBitmapInFile(long block, long pos, long len) throws IOException {
    long bm = BatState.offset(bat.bitmap(block / geometry.chunkRatio()));
    if (bm + Layout.BITMAP_BLOCK > file.length()) {
      throw new DataUnavailableException("Cannot read image '" + location() + "': block "
          + block + " (virtual bytes " + pos + ".." + (pos + len) + ") is partially present, "
          + "and its sector bitmap block at file offset " + bm + " lies past the end of the file ("
          + file.length() + " bytes); the image is truncated", pos, len);
    }
  }

  /** Reads stored bytes at {@code host}, failing for what lies past the end of the file. */
  private void readStored(long block, long host, ByteBuffer dst, long pos) throws IOException {
    int n = dst.remaining();
    long eof = file.length();
    if (host + n > eof) {
      long readable = Math.max(0, eof - host);
      throw new DataUnavailableException("Cannot read image '" + location() + "': block "
          + block + " (virtual bytes " + pos + ".." + (pos + n) + ") has its data at file offset "
          + host + ".." + (host + n) + ", past the end of the file (" + eof + " bytes); the "
          + "image is truncated", pos + readable, n - readable);
    }
    file.read(host, dst);
  }

  static void fillZeros(ByteBuffer dst, int n) {
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

  // ---------------------------------------------------------------- block status

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    long stamp = layout.tryOptimisticRead();
    if (stamp != 0) {
      try {
        Extent e = status(offset, length);
        if (layout.validate(stamp)) {
          return e;
        }
      } catch (IOException | RuntimeException e) {
        if (layout.validate(stamp)) {
          throw e;
        }
      }
    }
    stamp = layout.readLock();
    try {
      return status(offset, length);
    } finally {
      layout.unlockRead(stamp);
    }
  }

  /** The run's status, merged over following blocks of the same kind (and contiguous data). */
  private Extent status(long offset, long length) throws IOException {
    long end = Math.min(offset + length, size());
    Extent run = statusInBlock(offset, end);
    while (run.end() < end && run.end() % blockSize == 0) {
      Extent next = statusInBlock(run.end(), end);
      if (!run.canMerge(next)) {
        break;
      }
      run = run.merge(next);
    }
    return run;
  }

  /**
   * Data at {@code hostOffset} of the file; with no offset while a log replayed in memory only
   * (the file there may still hold what the log replaces, and a caller reading the file at the
   * offset, as convert's mapped views do, would get that).
   */
  private Extent stored(long pos, long len, long hostOffset) {
    return file.replayedInMemory() ? new Extent(pos, len, true, false, true, -1, null)
        : Extent.data(pos, len, hostOffset, file.child());
  }

  /** The status from {@code pos} to the end of its block (or {@code end}). */
  private Extent statusInBlock(long pos, long end) throws IOException {
    long block = pos / blockSize;
    long inBlock = pos % blockSize;
    long len = Math.min(blockSize - inBlock, end - pos);
    long e = bat.payload(block);
    int state = BatState.state(e);
    boolean partial = state == BatState.PARTIALLY_PRESENT && bat.usesBitmap(block);
    if (state == BatState.FULLY_PRESENT || state == BatState.PARTIALLY_PRESENT && !partial) {
      return stored(pos, len, BatState.offset(e) + inBlock);
    }
    if (partial) {
      long sector = inBlock / sectorSize;
      long lastSector = (inBlock + len - 1) / sectorSize;
      long run = bat.presenceRun(block, sector, lastSector - sector + 1);
      long n = Math.min(len, (sector + run) * sectorSize - inBlock);
      return bat.sectorPresent(block, sector)
          ? stored(pos, n, BatState.offset(e) + inBlock)
          : new Extent(pos, n, false, false, false, -1, null);
    }
    if (state == BatState.NOT_PRESENT) {
      // Left to the parent, or (no parent) a hole that reads zeros: qemu's present: false.
      return new Extent(pos, len, false, !differencing, false, -1, null);
    }
    return Extent.zero(pos, len);
  }

  // ---------------------------------------------------------------- writing

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    blocks.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    blocks.zero(offset, length);
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    blocks.zero(offset, length);
  }

  @Override
  protected void doFlush() throws IOException {
    writer.lock.lock();
    try {
      writer.flush();
    } finally {
      writer.lock.unlock();
    }
  }

  /** A clean close: everything committed, and headers that name no log. */
  @Override
  protected void doClose() throws IOException {
    if (writer != null) {
      writer.lock.lock();
      try {
        writer.close();
      } finally {
        writer.lock.unlock();
      }
    }
  }

  // ---------------------------------------------------------------- check, info

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    long stamp = layout.writeLock();
    try {
      return new VhdxCheck(this).run(mode);
    } finally {
      layout.unlockWrite(stamp);
    }
  }

  @Override
  protected BackingLink backingLink() {
    return link;
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    return new ImageInfo(location(), driver().name(), size(), allocatedSize(), blockSize,
        file.replayedInMemory(), formatSpecific(), link);
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    VhdxHeader h = headers.current();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", metadata.type());
    m.put("block-size", blockSize);
    m.put("logical-sector-size", (long) sectorSize);
    m.put("physical-sector-size", (long) metadata.physicalSectorSize());
    m.put("virtual-disk-id", metadata.diskId().toString());
    m.put("data-write-guid", h.dataWriteGuid().toString());
    m.put("file-write-guid", h.fileWriteGuid().toString());
    m.put("log-guid", h.logGuid().toString());
    m.put("log-offset", h.logOffset());
    m.put("log-size", h.logLength());
    m.put("header-sequence", Long.toUnsignedString(h.sequence()));
    m.put("bat-offset", regions.bat().offset());
    m.put("bat-entries", geometry.entries());
    m.put("metadata-offset", regions.metadata().offset());
    m.put("chunk-ratio", geometry.chunkRatio());
    m.put("log-replayed-in-memory", file.replayedInMemory());
    if (metadata.locator() != null) {
      Map<String, Object> locator = new LinkedHashMap<>();
      locator.put("type", metadata.locator().type().toString());
      locator.putAll(metadata.locator().entries());
      m.put("parent-locator", locator);
    }
    return m;
  }

  /** Whether the range overlaps the header section, the log or a region. */
  boolean overlapsStructures(long offset, long length) {
    if (offset < Layout.HEADER_SECTION) {
      return true;
    }
    VhdxHeader h = headers.current();
    if (offset < h.logOffset() + h.logLength() && h.logOffset() < offset + length) {
      return true;
    }
    for (RegionTable.Region r : regions.entries()) {
      if (offset < r.end() && r.offset() < offset + length) {
        return true;
      }
    }
    return false;
  }
}
