package io.blockkit.vhdx;

/** Fixed offsets, sizes and limits of the VHDX format. */
final class Layout {
  static final long KIB = 1024;
  static final long MIB = 1024 * KIB;
  static final long GIB = 1024 * MIB;
  static final long TIB = 1024 * GIB;

  /** "vhdxfile", read as a little-endian u64. */
  static final long FILE_SIGNATURE = 0x656C696678646876L;
  static final int CREATOR_OFFSET = 8;
  static final int CREATOR_BYTES = 512;
  static final long HEADER1_OFFSET = 64 * KIB;
  static final long HEADER2_OFFSET = 128 * KIB;
  static final int HEADER_BYTES = 4096;
  static final long REGION1_OFFSET = 192 * KIB;
  static final long REGION2_OFFSET = 256 * KIB;
  static final int REGION_TABLE_BYTES = (int) (64 * KIB);
  /** The header section: file identifier, two headers, two region tables, reserved space. */
  static final long HEADER_SECTION = MIB;
  /** Everything below this is never written through the log (identifier and headers). */
  static final long LOGGED_FROM = REGION1_OFFSET;

  static final long MIN_BLOCK = MIB;
  static final long MAX_BLOCK = 256 * MIB;
  static final long MAX_VIRTUAL_SIZE = 64 * TIB;
  /** Files and structures beyond this offset are refused: a 64 TiB disk with its metadata fits. */
  static final long MAX_FILE_OFFSET = 1L << 47;
  /** Sectors one sector bitmap block describes (each 1 MiB bitmap block holds 2^23 bits). */
  static final long SECTORS_PER_BITMAP = 1L << 23;
  static final long BITMAP_BLOCK = MIB;
  static final int PAGE = 4096;

  private Layout() {}

  static long roundUp(long value, long unit) {
    return (value + unit - 1) / unit * unit;
  }

  static long roundDown(long value, long unit) {
    return value / unit * unit;
  }

  static boolean isPowerOfTwo(long v) {
    return v > 0 && Long.bitCount(v) == 1;
  }
}
