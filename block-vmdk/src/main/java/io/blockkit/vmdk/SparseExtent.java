package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;
import static io.blockkit.vmdk.SparseHeader.roundUp;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.error.ReadOnlyException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A hosted sparse extent (KDMV): grains found through a grain directory (GD) and grain tables
 * (GTs), with a redundant copy of both kept in step on writes. Also reads compressed grains
 * ({@link CompressedGrain}); {@link StreamExtent} writes stream-optimized ones.
 *
 * <p>Requests are split at grain boundaries ({@link #eachGrain}) and served a grain at a time by
 * {@link #readGrain}, {@link #writeGrain} and {@link #zeroGrain}, the steps {@link StreamExtent}
 * replaces. The tables are {@link GrainTables}.
 *
 * <p>Concurrency: reads share a lock; a write holds it alone, so an allocation (grain appended,
 * then its GT entry, then the redundant entry) is never seen half done.
 */
class SparseExtent implements DiskExtent {
  /** A GT entry that marks a zeroed grain (when the header's zeroed-grain flag is set). */
  static final int ZEROED = 1;
  /** Largest grain this driver writes (it buffers one grain for copy-on-write). */
  static final long MAX_WRITABLE_GRAIN = 2L << 20;

  final BlockDevice file;
  final String name;
  final SparseHeader header;
  final long length;
  final boolean writable;
  /** The GD, its redundant copy and the GTs. */
  final GrainTables tables;
  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /** Where the next grain goes, in sectors: the end of the file. */
  long nextFree;

  SparseExtent(BlockDevice file, String name, SparseHeader header, long gdOffset, long length,
      boolean writable) throws IOException {
    this.file = file;
    this.name = name;
    this.header = header;
    this.length = length;
    this.writable = writable;
    this.tables = new GrainTables(file, name, header, gdOffset);
    this.nextFree = (file.size() + SECTOR - 1) / SECTOR;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public BlockDevice file() {
    return file;
  }

  long grainBytes() {
    return header.grainBytes();
  }

  @Override
  public void read(long offset, ByteBuffer dst, Parent parent) throws IOException {
    lock.readLock().lock();
    try {
      eachPart(offset, dst, (g, in, part, pos) -> readGrain(g, in, part, parent, pos));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Reads {@code part} from byte {@code in} of grain {@code g} (image offset {@code pos}). */
  void readGrain(long g, long in, ByteBuffer part, Parent parent, long pos) throws IOException {
    int e = tables.entry(g);
    if (e == 0) {
      parent.read(pos, part);
    } else if (e == ZEROED && header.has(SparseHeader.FLAG_ZEROED_GRAIN)) {
      zero(part);
    } else if (header.has(SparseHeader.FLAG_COMPRESSED)) {
      CompressedGrain.read(this, g, e, in, part);
    } else {
      long at = grainStart(g, e);
      file.read(at + in, part);
    }
  }

  /** One grain's share of a request: {@code n} bytes from byte {@code in} of grain {@code g}. */
  interface GrainStep {
    void apply(long g, long in, long n, long pos) throws IOException;
  }

  /** {@link GrainStep} with the share of the caller's buffer. */
  interface PartStep {
    void apply(long g, long in, ByteBuffer part, long pos) throws IOException;
  }

  /** Splits {@code [offset, offset + len)} at grain boundaries, in order. */
  void eachGrain(long offset, long len, GrainStep step) throws IOException {
    long grain = grainBytes();
    long pos = offset;
    long end = offset + len;
    while (pos < end) {
      long in = pos % grain;
      long n = Math.min(end - pos, grain - in);
      step.apply(pos / grain, in, n, pos);
      pos += n;
    }
  }

  /** {@link #eachGrain} over {@code buf}'s remaining bytes, advancing it part by part. */
  void eachPart(long offset, ByteBuffer buf, PartStep step) throws IOException {
    eachGrain(offset, buf.remaining(), (g, in, n, pos) -> {
      step.apply(g, in, buf.slice().limit((int) n), pos);
      buf.position(buf.position() + (int) n);
    });
  }

  /** Byte offset of the plain grain at GT entry {@code e}, checked against the file. */
  long grainStart(long g, int e) throws IOException {
    long at = Integer.toUnsignedLong(e) * SECTOR;
    long fileLength = file.size();
    if (at + grainBytes() > fileLength && at + Math.min(grainBytes(), length - g * grainBytes())
        > fileLength) {
      throw pastEnd(g, e, fileLength);
    }
    return at;
  }

  DataUnavailableException pastEnd(long g, int e, long fileLength) {
    return unavailable(g, "its grain table entry is sector " + Integer.toUnsignedString(e)
        + ", expected a grain inside the " + fileLength + "-byte file");
  }

  /** A grain that cannot be read: the reference or the data is damaged (check reports it). */
  DataUnavailableException unavailable(long g, String why) {
    return new DataUnavailableException("Corrupt image '" + name + "': cannot read grain " + g
        + ": " + why, g * grainBytes(), grainBytes());
  }

  static void zero(ByteBuffer b) {
    while (b.hasRemaining()) {
      b.put((byte) 0);
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Parent parent) throws IOException {
    requireWritable();
    lock.writeLock().lock();
    try {
      eachPart(offset, src, (g, in, part, pos) -> writeGrain(g, in, part, parent));
    } finally {
      lock.writeLock().unlock();
    }
  }

  void requireWritable() throws IOException {
    if (!writable) {
      throw new ReadOnlyException(name + " (an extent the descriptor opens read-only)");
    }
  }

  /** Writes {@code part} at byte {@code in} of grain {@code g}; holds the write lock. */
  void writeGrain(long g, long in, ByteBuffer part, Parent parent) throws IOException {
    int e = tables.entry(g);
    if (e != 0 && !(e == ZEROED && header.has(SparseHeader.FLAG_ZEROED_GRAIN))) {
      long at = grainStart(g, e);
      requireOutsideMetadata(g, e);
      file.write(at + in, part);
      return;
    }
    long grain = grainBytes();
    if (in == 0 && part.remaining() == grain) {
      allocate(g, part); // a whole grain: nothing to keep, so no copy (a convert's every grain)
      return;
    }
    // Copy-on-write: the rest of the grain keeps what it read as (the parent's bytes, or zeros).
    ByteBuffer whole = ByteBuffer.allocate((int) grain);
    long base = g * grain;
    int valid = (int) Math.min(grain, length - base);
    if (e == 0) {
      parent.read(base, whole.duplicate().limit(valid));
    }
    whole.position((int) in);
    whole.put(part);
    whole.clear();
    allocate(g, whole);
  }

  /** Appends a new grain holding {@code data}, then points both GTs at it. */
  void allocate(long g, ByteBuffer data) throws IOException {
    long sector = nextFree;
    if (sector + header.grainSectors > 0xffffffffL) {
      throw new CorruptImageException(name, "the grain directory's 32-bit sector numbers cannot "
          + "address more grains: the extent file would pass 2 TiB");
    }
    file.write(sector * SECTOR, data);
    nextFree = sector + header.grainSectors;
    setEntry(g, (int) sector);
  }

  /** Writes GT entry {@code g} (then its redundant copy), creating the tables when absent. */
  void setEntry(long g, int value) throws IOException {
    int gdi = (int) (g / header.gtesPerGt);
    int idx = (int) (g % header.gtesPerGt);
    if (gdi >= tables.gd.length) {
      throw new CorruptImageException(name, "grain " + g + " lies past the "
          + tables.gd.length + " grain tables the header's capacity gives");
    }
    int[] gt = tables.table(gdi);
    if (gt == null) {
      gt = newTable(gdi);
    }
    ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
    file.write(Integer.toUnsignedLong(tables.gd[gdi]) * SECTOR + 4L * idx, v);
    gt[idx] = value;
    if (tables.rgd != null && tables.rgd[gdi] != 0) {
      file.write(Integer.toUnsignedLong(tables.rgd[gdi]) * SECTOR + 4L * idx, v.clear());
    }
  }

  /**
   * Appends an empty GT (and its redundant copy) for GD entry {@code gdi} and records it in both
   * directories, the redundant one first: a crash leaves at most an unused table.
   */
  private int[] newTable(int gdi) throws IOException {
    long sectors = roundUp(4L * header.gtesPerGt) / SECTOR;
    ByteBuffer empty = ByteBuffer.allocate((int) (sectors * SECTOR));
    ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    if (tables.rgd != null) {
      long r = nextFree;
      file.write(r * SECTOR, empty.clear());
      nextFree += sectors;
      file.write(header.rgdOffset * SECTOR + 4L * gdi, v.putInt(0, (int) r).clear());
      tables.rgd[gdi] = (int) r;
    }
    long t = nextFree;
    file.write(t * SECTOR, empty.clear());
    nextFree += sectors;
    file.write(header.gdOffset * SECTOR + 4L * gdi, v.putInt(0, (int) t).clear());
    tables.gd[gdi] = (int) t;
    int[] gt = new int[header.gtesPerGt];
    tables.gts[gdi] = gt;
    return gt;
  }

  /** Refuses to write through an entry that points into the header or the tables. */
  private void requireOutsideMetadata(long g, int e) throws CorruptImageException {
    long s = Integer.toUnsignedLong(e);
    if (s < header.overhead) {
      throw new CorruptImageException(name, "grain table entry for grain " + g, -1, "sector "
          + s, "a grain past the header and tables (sector " + header.overhead
              + " or later); writing there would overwrite metadata");
    }
  }

  @Override
  public void writeZeroes(long offset, long len, boolean hasParent, Parent parent)
      throws IOException {
    requireWritable();
    lock.writeLock().lock();
    try {
      eachGrain(offset, len, (g, in, n, pos) -> zeroGrain(g, in, n, pos, hasParent, parent));
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Zeroes {@code n} bytes from byte {@code in} of grain {@code g}; holds the write lock. */
  void zeroGrain(long g, long in, long n, long pos, boolean hasParent, Parent parent)
      throws IOException {
    boolean whole = in == 0 && (n == grainBytes() || pos + n == length);
    int e = tables.entry(g);
    boolean zeroedFlag = header.has(SparseHeader.FLAG_ZEROED_GRAIN);
    if (e == ZEROED && zeroedFlag || e == 0 && !hasParent) {
      // already reads zeros
    } else if (whole && e == 0 && zeroedFlag) {
      setEntry(g, ZEROED);
    } else {
      // An allocated grain is zeroed in place: a zeroed-grain entry would orphan its space.
      writeGrain(g, in, ByteBuffer.allocate((int) n), parent);
    }
  }

  @Override
  public Run status(long offset, long len) throws IOException {
    lock.readLock().lock();
    try {
      long grain = grainBytes();
      long g = offset / grain;
      Run first = grainRun(g, offset % grain, Math.min(len, grain - offset % grain));
      long done = first.length();
      while (done < len) {
        long g2 = (offset + done) / grain;
        Run next = grainRun(g2, 0, Math.min(len - done, grain));
        boolean contiguous = first.kind() != Kind.DATA
            || next.hostOffset() == first.hostOffset() + done;
        if (next.kind() != first.kind() || !contiguous) {
          break;
        }
        done += next.length();
      }
      return new Run(done, first.kind(), first.hostOffset(), first.host());
    } finally {
      lock.readLock().unlock();
    }
  }

  private Run grainRun(long g, long in, long n) throws IOException {
    int e;
    try {
      e = tables.entry(g);
    } catch (DataUnavailableException damaged) {
      return new Run(n, Kind.COMPRESSED, -1, null); // data this extent holds but cannot read
    }
    if (e == 0) {
      return new Run(n, Kind.UNALLOCATED, -1, null);
    }
    if (e == ZEROED && header.has(SparseHeader.FLAG_ZEROED_GRAIN)) {
      return new Run(n, Kind.ZERO, -1, null);
    }
    if (header.has(SparseHeader.FLAG_COMPRESSED)) {
      return new Run(n, Kind.COMPRESSED, -1, null);
    }
    return new Run(n, Kind.DATA, Integer.toUnsignedLong(e) * SECTOR + in, file);
  }

  @Override
  public void flush() throws IOException {
    file.flush();
  }

  /** Plain extents: {@link SparseRepair}; compressed ones are streams (see the subclass). */
  @Override
  public void repair(CheckMode mode) throws IOException {
    if (!writable || header.has(SparseHeader.FLAG_COMPRESSED)) {
      return;
    }
    lock.writeLock().lock();
    try {
      new SparseRepair(this).run(mode);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void check(CheckReport.Builder report, String extentName, Totals totals)
      throws IOException {
    lock.readLock().lock();
    try {
      new SparseCheck(this, report, extentName, totals).run();
    } finally {
      lock.readLock().unlock();
    }
  }
}
