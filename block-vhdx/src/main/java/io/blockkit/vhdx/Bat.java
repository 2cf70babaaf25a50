package io.blockkit.vhdx;

import java.io.IOException;

/**
 * The block allocation table and the sector bitmaps, read through the {@link PageCache}: payload
 * entries by virtual block, bitmap entries by chunk, and sector presence bits. Entries past the
 * end of the BAT region (a dynamic image's last chunk has no bitmap entry) read as zero.
 */
final class Bat {
  final Geometry geometry;
  final long offset;
  final long entries;
  final PageCache pages;
  final boolean differencing;

  Bat(Geometry geometry, long offset, long regionLength, PageCache pages) {
    this.geometry = geometry;
    this.offset = offset;
    this.entries = regionLength / 8;
    this.pages = pages;
    this.differencing = geometry.differencing();
  }

  /** File offset of the BAT entry at {@code index}. */
  long entryOffset(long index) {
    return offset + 8 * index;
  }

  long entry(long index) throws IOException {
    return index < entries ? pages.word(entryOffset(index)) : 0;
  }

  long payload(long block) throws IOException {
    return entry(geometry.payloadIndex(block));
  }

  long payloadOffset(long block) {
    return entryOffset(geometry.payloadIndex(block));
  }

  long bitmap(long chunk) throws IOException {
    return entry(geometry.bitmapIndex(chunk));
  }

  long bitmapEntryOffset(long chunk) {
    return entryOffset(geometry.bitmapIndex(chunk));
  }

  /**
   * Whether a block in the PARTIALLY_PRESENT state is read through its sector bitmap: only in a
   * differencing image whose chunk has a bitmap block. Otherwise (a corrupt state check reports)
   * the block reads as FULLY_PRESENT: the data is all the file has.
   */
  boolean usesBitmap(long block) throws IOException {
    return differencing && BatState.state(bitmap(block / geometry.chunkRatio()))
        == BatState.SB_PRESENT;
  }

  /** File offset of the bitmap word holding bit {@code sector} (sector index inside the block). */
  long bitWordOffset(long block, long sector) throws IOException {
    long bm = BatState.offset(bitmap(block / geometry.chunkRatio()));
    long bit = block % geometry.chunkRatio() * geometry.sectorsPerBlock() + sector;
    return bm + (bit >>> 6) * 8;
  }

  static int bitInWord(long block, Geometry g, long sector) {
    return (int) ((block % g.chunkRatio() * g.sectorsPerBlock() + sector) & 63);
  }

  boolean sectorPresent(long block, long sector) throws IOException {
    return (pages.word(bitWordOffset(block, sector)) >>> bitInWord(block, geometry, sector)
        & 1) != 0;
  }

  /**
   * The number of sectors from {@code sector} on (at most {@code max}) whose presence bit equals
   * that of {@code sector}.
   */
  long presenceRun(long block, long sector, long max) throws IOException {
    boolean present = sectorPresent(block, sector);
    long n = 1;
    while (n < max) {
      long s = sector + n;
      int bit = bitInWord(block, geometry, s);
      long word = pages.word(bitWordOffset(block, s)) >>> bit;
      if (present) {
        word = ~word;
      }
      int same = word == 0 ? 64 - bit : Long.numberOfTrailingZeros(word);
      same = Math.min(same, 64 - bit);
      n += same;
      if (same < 64 - bit) {
        break;
      }
    }
    return Math.min(n, max);
  }
}
