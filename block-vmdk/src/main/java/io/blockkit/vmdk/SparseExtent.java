package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.error.ReadOnlyException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A hosted sparse extent (KDMV): grains found through a grain directory (GD) and grain tables
 * (GTs), with a redundant copy of both kept in step on writes. Also reads compressed grains
 * (stream-optimized images); writes to those go through {@link StreamWriter}.
 *
 * <p>Concurrency: reads share a lock; a write holds it alone, so an allocation (grain appended,
 * then its GT entry, then the redundant entry) is never seen half done.
 */
class SparseExtent implements DiskExtent {
  /** A GT entry that marks a zeroed grain (when the header's zeroed-grain flag is set). */
  static final int ZEROED = 1;
  /** Largest grain this driver writes (it buffers one grain for copy-on-write). */
  static final long MAX_WRITABLE_GRAIN = 2L << 20;
  private static final int GRAIN_MARKER_HEADER = 12;

  final BlockDevice file;
  final String name;
  final SparseHeader header;
  final long length;
  final boolean writable;
  /** GD entries (GT sectors), read at open; bounded by the file's length. */
  final int[] gd;
  /** Redundant GD entries, or null when the extent keeps none. */
  final int[] rgd;
  /** Loaded GTs, by GD index; null until first used. */
  final int[][] gts;
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
    long fileLength = file.size();
    int entries = (int) header.gdEntries();
    this.gd = gdOffset == StreamExtent.NO_DIRECTORY ? new int[entries]
        : readDirectory(fileLength, "grain directory", gdOffset, entries);
    this.rgd = header.has(SparseHeader.FLAG_REDUNDANT_GD) && header.rgdOffset != 0
        && !header.has(SparseHeader.FLAG_COMPRESSED)
        ? readDirectory(fileLength, "redundant grain directory", header.rgdOffset, entries)
        : null;
    this.gts = new int[entries][];
    this.nextFree = (fileLength + SECTOR - 1) / SECTOR;
    if (gdOffset != StreamExtent.NO_DIRECTORY && !header.has(SparseHeader.FLAG_COMPRESSED)) {
      requireDirectoryApart("header.gdOffset", header.gdOffset);
      if (rgd != null) {
        requireDirectoryApart("header.rgdOffset", header.rgdOffset);
      }
    }
  }

  /**
   * A directory written over the header or the descriptor would destroy them at the first
   * allocation (and a descriptor rewrite would destroy the directory): refused at open.
   */
  private void requireDirectoryApart(String field, long sector) throws CorruptImageException {
    long at = sector * SECTOR;
    long bytes = (4L * gd.length + SECTOR - 1) / SECTOR * SECTOR;
    List<long[]> fixed = fixedRegions();
    for (long[] r : fixed.subList(0, header.descSectors > 0 ? 2 : 1)) {
      if (at < r[1] && r[0] < at + bytes) {
        throw new CorruptImageException(name, field, -1, "sector " + sector, "a grain "
            + "directory clear of the header (sector 0) and the embedded descriptor (sectors "
            + header.descOffset + " to " + (header.descOffset + header.descSectors - 1) + ")");
      }
    }
  }

  private int[] readDirectory(long fileLength, String what, long sector, int entries)
      throws IOException {
    long bytes = 4L * entries;
    if (sector < 0 || sector > fileLength / SECTOR || bytes > fileLength - sector * SECTOR) {
      throw new CorruptImageException(name, what, -1, entries + " entries at sector "
          + Long.toUnsignedString(sector), "a directory inside the " + fileLength
              + "-byte file");
    }
    return readInts(sector * SECTOR, entries);
  }

  int[] readInts(long at, int count) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 * count).order(ByteOrder.LITTLE_ENDIAN);
    file.read(at, b);
    b.flip();
    int[] out = new int[count];
    b.asIntBuffer().get(out);
    return out;
  }

  /**
   * Byte ranges {@code [start, end)} that never move and that no table or grain may overlap: the
   * header sector, the embedded descriptor and both grain directories (plain extents).
   */
  List<long[]> fixedRegions() {
    List<long[]> out = new ArrayList<>();
    out.add(new long[] {0, SECTOR});
    if (header.descSectors > 0) {
      out.add(new long[] {header.descOffset * SECTOR,
          (header.descOffset + header.descSectors) * SECTOR});
    }
    if (!header.has(SparseHeader.FLAG_COMPRESSED)) {
      long gdBytes = (4L * gd.length + SECTOR - 1) / SECTOR * SECTOR;
      out.add(new long[] {header.gdOffset * SECTOR, header.gdOffset * SECTOR + gdBytes});
      if (rgd != null) {
        out.add(new long[] {header.rgdOffset * SECTOR, header.rgdOffset * SECTOR + gdBytes});
      }
    }
    return out;
  }

  /** Whether {@code [at, at + bytes)} overlaps one of the {@link #fixedRegions()}. */
  boolean overlapsFixed(long at, long bytes) {
    for (long[] r : fixedRegions()) {
      if (at < r[1] && r[0] < at + bytes) {
        return true;
      }
    }
    return false;
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

  /** The GT entry of grain {@code g} (0 when its table is absent); call under the lock. */
  int entry(long g) throws IOException {
    long gdi = g / header.gtesPerGt;
    if (gdi >= gd.length) {
      return 0;
    }
    int[] gt = table((int) gdi);
    return gt == null ? 0 : gt[(int) (g % header.gtesPerGt)];
  }

  /** GT {@code gdi}, loaded on first use; null when the GD has no table there. */
  int[] table(int gdi) throws IOException {
    int[] gt = gts[gdi];
    if (gt != null || gd[gdi] == 0) {
      return gt;
    }
    synchronized (gts) {
      if (gts[gdi] == null) {
        long at = Integer.toUnsignedLong(gd[gdi]) * SECTOR;
        long bytes = 4L * header.gtesPerGt;
        long fileLength = file.size();
        if (at > fileLength - bytes) {
          throw new DataUnavailableException("Corrupt image '" + name + "': grain directory "
              + "entry " + gdi + " is sector " + Integer.toUnsignedString(gd[gdi])
              + ", expected a grain table inside the " + fileLength + "-byte file",
              (long) gdi * header.gtesPerGt * grainBytes(), (long) header.gtesPerGt
                  * grainBytes());
        }
        gts[gdi] = readInts(at, header.gtesPerGt);
      }
      return gts[gdi];
    }
  }

  @Override
  public void read(long offset, ByteBuffer dst, Parent parent) throws IOException {
    lock.readLock().lock();
    try {
      long grain = grainBytes();
      long pos = offset;
      while (dst.hasRemaining()) {
        long g = pos / grain;
        long in = pos % grain;
        int n = (int) Math.min(dst.remaining(), grain - in);
        ByteBuffer part = dst.slice().limit(n);
        readGrain(g, entry(g), in, part, parent, pos);
        dst.position(dst.position() + n);
        pos += n;
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  private void readGrain(long g, int e, long in, ByteBuffer part, Parent parent, long pos)
      throws IOException {
    if (e == 0) {
      parent.read(pos, part);
    } else if (e == ZEROED && header.has(SparseHeader.FLAG_ZEROED_GRAIN)) {
      zero(part);
    } else if (header.has(SparseHeader.FLAG_COMPRESSED)) {
      readCompressed(g, e, in, part);
    } else {
      long at = grainStart(g, e);
      file.read(at + in, part);
    }
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

  /** Inflates the compressed grain at sector {@code e}, from byte {@code in}, into {@code part}. */
  private void readCompressed(long g, int e, long in, ByteBuffer part) throws IOException {
    long at = Integer.toUnsignedLong(e) * SECTOR;
    long fileLength = file.size();
    if (at >= fileLength) {
      throw pastEnd(g, e, fileLength);
    }
    long limit = 2 * grainBytes() + SECTOR; // zlib may grow incompressible data a little
    int size;
    long dataAt;
    if (header.has(SparseHeader.FLAG_MARKERS)) {
      ByteBuffer m = ByteBuffer.allocate(GRAIN_MARKER_HEADER).order(ByteOrder.LITTLE_ENDIAN);
      if (fileLength - at < GRAIN_MARKER_HEADER) {
        throw pastEnd(g, e, fileLength);
      }
      file.read(at, m);
      long lba = m.getLong(0);
      long stored = Integer.toUnsignedLong(m.getInt(8));
      if (stored == 0 || stored > limit || stored > fileLength - at - GRAIN_MARKER_HEADER) {
        throw unavailable(g, "its grain marker at byte " + at + " gives a compressed size of "
            + stored + ", expected 1 to " + Math.min(limit, fileLength - at
                - GRAIN_MARKER_HEADER) + " bytes");
      }
      if (lba != g * header.grainSectors) {
        throw unavailable(g, "its grain marker at byte " + at + " is for sector "
            + Long.toUnsignedString(lba) + ", expected sector " + g * header.grainSectors);
      }
      size = (int) stored;
      dataAt = at + GRAIN_MARKER_HEADER;
    } else {
      size = (int) Math.min(limit, fileLength - at);
      dataAt = at;
    }
    byte[] compressed = new byte[size];
    file.read(dataAt, ByteBuffer.wrap(compressed));
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(compressed);
      byte[] skip = new byte[(int) Math.min(in, 64 << 10)];
      long toSkip = in;
      while (toSkip > 0) {
        int n = inflater.inflate(skip, 0, (int) Math.min(toSkip, skip.length));
        if (n == 0) {
          break;
        }
        toSkip -= n;
      }
      int want = part.remaining();
      byte[] out = new byte[want];
      int got = 0;
      while (toSkip == 0 && got < want) {
        int n = inflater.inflate(out, got, want - got);
        if (n == 0) {
          break;
        }
        got += n;
      }
      if (got < want && !inflater.finished()) {
        throw unavailable(g, "its zlib data at byte " + at + " is truncated or damaged");
      }
      part.put(out, 0, got); // a stream shorter than the grain leaves zeros, as QEMU reads it
      zero(part);
    } catch (DataFormatException ex) {
      throw unavailable(g, "the data at byte " + at + " is not a zlib stream (RFC 1950): "
          + ex.getMessage());
    } finally {
      inflater.end();
    }
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
      long grain = grainBytes();
      long pos = offset;
      while (src.hasRemaining()) {
        long g = pos / grain;
        long in = pos % grain;
        int n = (int) Math.min(src.remaining(), grain - in);
        ByteBuffer part = src.slice().limit(n);
        writeGrain(g, in, part, parent);
        src.position(src.position() + n);
        pos += n;
      }
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
  private void writeGrain(long g, long in, ByteBuffer part, Parent parent) throws IOException {
    int e = entry(g);
    if (e != 0 && !(e == ZEROED && header.has(SparseHeader.FLAG_ZEROED_GRAIN))) {
      long at = grainStart(g, e);
      requireOutsideMetadata(g, e);
      file.write(at + in, part);
      return;
    }
    // Copy-on-write: the rest of the grain keeps what it read as (the parent's bytes, or zeros).
    long grain = grainBytes();
    ByteBuffer whole = ByteBuffer.allocate((int) grain);
    if (in != 0 || part.remaining() != grain) {
      long base = g * grain;
      int valid = (int) Math.min(grain, length - base);
      if (e == 0) {
        parent.read(base, whole.duplicate().limit(valid));
      }
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
    if (gdi >= gd.length) {
      throw new CorruptImageException(name, "grain " + g + " lies past the "
          + gd.length + " grain tables the header's capacity gives");
    }
    int[] gt = table(gdi);
    if (gt == null) {
      gt = newTable(gdi);
    }
    ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
    file.write(Integer.toUnsignedLong(gd[gdi]) * SECTOR + 4L * idx, v);
    gt[idx] = value;
    if (rgd != null && rgd[gdi] != 0) {
      file.write(Integer.toUnsignedLong(rgd[gdi]) * SECTOR + 4L * idx, v.clear());
    }
  }

  /**
   * Appends an empty GT (and its redundant copy) for GD entry {@code gdi} and records it in both
   * directories, the redundant one first: a crash leaves at most an unused table.
   */
  private int[] newTable(int gdi) throws IOException {
    long sectors = (4L * header.gtesPerGt + SECTOR - 1) / SECTOR;
    ByteBuffer empty = ByteBuffer.allocate((int) (sectors * SECTOR));
    ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    if (rgd != null) {
      long r = nextFree;
      file.write(r * SECTOR, empty.clear());
      nextFree += sectors;
      file.write(header.rgdOffset * SECTOR + 4L * gdi, v.putInt(0, (int) r).clear());
      rgd[gdi] = (int) r;
    }
    long t = nextFree;
    file.write(t * SECTOR, empty.clear());
    nextFree += sectors;
    file.write(header.gdOffset * SECTOR + 4L * gdi, v.putInt(0, (int) t).clear());
    gd[gdi] = (int) t;
    int[] gt = new int[header.gtesPerGt];
    gts[gdi] = gt;
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
      long grain = grainBytes();
      long pos = offset;
      long end = offset + len;
      while (pos < end) {
        long g = pos / grain;
        long in = pos % grain;
        long n = Math.min(end - pos, grain - in);
        boolean whole = in == 0 && (n == grain || pos + n == length);
        int e = entry(g);
        boolean zeroedFlag = header.has(SparseHeader.FLAG_ZEROED_GRAIN);
        if (e == ZEROED && zeroedFlag || e == 0 && !hasParent) {
          // already reads zeros
        } else if (whole && e == 0 && zeroedFlag) {
          setEntry(g, ZEROED);
        } else {
          // An allocated grain is zeroed in place: a zeroed-grain entry would orphan its space.
          writeGrain(g, in, ByteBuffer.allocate((int) n), parent);
        }
        pos += n;
      }
    } finally {
      lock.writeLock().unlock();
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
      e = entry(g);
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
