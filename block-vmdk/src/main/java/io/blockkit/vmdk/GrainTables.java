package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;
import static io.blockkit.vmdk.SparseHeader.roundUp;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The grain directory (GD), its redundant copy and the grain tables (GTs) of a sparse extent, as
 * read from the file and kept in memory: lookups, and the regions of the file no table or grain
 * may overlap. Every directory and table is checked against the file before it is read. Writing
 * them is the extent's work ({@link SparseExtent#setEntry}, {@link StreamExtent}).
 */
final class GrainTables {
  private final BlockDevice file;
  private final String name;
  private final SparseHeader header;
  /** GD entries (GT sectors), read at open; bounded by the file's length. */
  final int[] gd;
  /** Redundant GD entries, or null when the extent keeps none. */
  final int[] rgd;
  /** Loaded GTs, by GD index; null until first used. */
  final int[][] gts;

  /**
   * @param gdOffset the directory's sector, or {@link StreamExtent#NO_DIRECTORY} for an empty one
   *     (a stream's markers are scanned instead)
   * @throws CorruptImageException when a directory lies outside the file, or over the header or
   *     the embedded descriptor
   */
  GrainTables(BlockDevice file, String name, SparseHeader header, long gdOffset)
      throws IOException {
    this.file = file;
    this.name = name;
    this.header = header;
    long fileLength = file.size();
    int entries = (int) header.gdEntries();
    boolean compressed = header.has(SparseHeader.FLAG_COMPRESSED);
    this.gd = gdOffset == StreamExtent.NO_DIRECTORY ? new int[entries]
        : readDirectory(fileLength, "grain directory", gdOffset, entries);
    this.rgd = header.has(SparseHeader.FLAG_REDUNDANT_GD) && header.rgdOffset != 0 && !compressed
        ? readDirectory(fileLength, "redundant grain directory", header.rgdOffset, entries)
        : null;
    this.gts = new int[entries][];
    if (gdOffset != StreamExtent.NO_DIRECTORY && !compressed) {
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
    long bytes = roundUp(4L * gd.length);
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

  /** {@code count} little-endian 32-bit entries at byte {@code at}; the caller checked the range. */
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
      long gdBytes = roundUp(4L * gd.length);
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

  /** The GT entry of grain {@code g} (0 when its table is absent); call under the lock. */
  int entry(long g) throws IOException {
    long gdi = g / header.gtesPerGt;
    if (gdi >= gd.length) {
      return 0;
    }
    int[] gt = table((int) gdi);
    return gt == null ? 0 : gt[(int) (g % header.gtesPerGt)];
  }

  /**
   * GT {@code gdi}, loaded on first use; null when the GD has no table there.
   *
   * @throws DataUnavailableException when the GD entry points past the end of the file (the
   *     grains of that table cannot be read)
   */
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
          long grain = header.grainBytes();
          throw new DataUnavailableException("Corrupt image '" + name + "': grain directory "
              + "entry " + gdi + " is sector " + Integer.toUnsignedString(gd[gdi])
              + ", expected a grain table inside the " + fileLength + "-byte file",
              (long) gdi * header.gtesPerGt * grain, (long) header.gtesPerGt * grain);
        }
        gts[gdi] = readInts(at, header.gtesPerGt);
      }
      return gts[gdi];
    }
  }

  /** Sets grain {@code g}'s entry in memory only, creating its table when absent. */
  void remember(long g, int value) {
    int gdi = (int) (g / header.gtesPerGt);
    if (gts[gdi] == null) {
      gts[gdi] = new int[header.gtesPerGt];
    }
    gts[gdi][(int) (g % header.gtesPerGt)] = value;
  }
}
