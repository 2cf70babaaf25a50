package io.blockkit.vmdk;

import io.blockkit.api.error.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 512-byte header of a hosted sparse extent ("KDMV", little-endian), also the footer of a
 * stream-optimized one. Sector counts and offsets are in 512-byte sectors, as stored.
 */
final class SparseHeader {
  static final int SECTOR = 512;
  static final int MAGIC = 0x564d444b; // "KDMV" read little-endian
  static final int FLAG_NEWLINE_TEST = 1;
  static final int FLAG_REDUNDANT_GD = 1 << 1;
  static final int FLAG_ZEROED_GRAIN = 1 << 2;
  static final int FLAG_COMPRESSED = 1 << 16;
  static final int FLAG_MARKERS = 1 << 17;
  /** gdOffset of a stream-optimized header: the grain directory's place is in the footer. */
  static final long GD_AT_END = -1L;
  static final int COMPRESSION_NONE = 0;
  static final int COMPRESSION_DEFLATE = 1;
  /** QEMU's limits, which bound what an open allocates from these fields. */
  static final long MAX_GRAIN_SECTORS = 0x200000;
  static final int MAX_GTES_PER_GT = 512;
  static final long MAX_GD_ENTRIES = 32L << 20;

  final int version;
  final int flags;
  final long capacity;
  final long grainSectors;
  final long descOffset;
  final long descSectors;
  final int gtesPerGt;
  final long rgdOffset;
  final long gdOffset;
  final long overhead;
  final boolean uncleanShutdown;
  final int compression;

  SparseHeader(int version, int flags, long capacity, long grainSectors, long descOffset,
      long descSectors, int gtesPerGt, long rgdOffset, long gdOffset, long overhead,
      boolean uncleanShutdown, int compression) {
    this.version = version;
    this.flags = flags;
    this.capacity = capacity;
    this.grainSectors = grainSectors;
    this.descOffset = descOffset;
    this.descSectors = descSectors;
    this.gtesPerGt = gtesPerGt;
    this.rgdOffset = rgdOffset;
    this.gdOffset = gdOffset;
    this.overhead = overhead;
    this.uncleanShutdown = uncleanShutdown;
    this.compression = compression;
  }

  /** {@code bytes} rounded up to whole sectors, in bytes. */
  static long roundUp(long bytes) {
    return (bytes + SECTOR - 1) / SECTOR * SECTOR;
  }

  /** True when {@code b} (at least 4 bytes from its position) starts with the KDMV magic. */
  static boolean hasMagic(ByteBuffer b) {
    return b.remaining() >= 4 && b.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
  }

  /**
   * Reads and validates a header (or footer) against what the file can hold.
   *
   * @param where the file and structure, for messages ("'disk.vmdk' header")
   * @param sector 512 bytes
   * @param fileLength the extent file's length in bytes
   * @throws CorruptImageException naming the field, the value and the rule
   */
  static SparseHeader parse(String location, String what, ByteBuffer sector, long fileLength)
      throws CorruptImageException {
    if (sector.remaining() < SECTOR) {
      throw new CorruptImageException(location, what, 0, sector.remaining() + " bytes long",
          "a 512-byte sparse extent header");
    }
    ByteBuffer b = sector.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int p = b.position();
    int magic = b.getInt(p);
    if (magic != MAGIC) {
      throw new CorruptImageException(location, what + ".magic", 0, hex(magic), "KDMV");
    }
    int version = b.getInt(p + 4);
    if (version < 1 || version > 3) {
      throw new CorruptImageException(location, what + ".version", 4,
          Integer.toUnsignedString(version), "1, 2 or 3");
    }
    int flags = b.getInt(p + 8);
    long capacity = b.getLong(p + 12);
    long grain = b.getLong(p + 20);
    long descOffset = b.getLong(p + 28);
    long descSectors = b.getLong(p + 36);
    int gtes = b.getInt(p + 44);
    long rgd = b.getLong(p + 48);
    long gd = b.getLong(p + 56);
    long overhead = b.getLong(p + 64);
    boolean unclean = b.get(p + 72) != 0;
    int compression = Short.toUnsignedInt(b.getShort(p + 77));
    if (grain <= 0 || grain > MAX_GRAIN_SECTORS || Long.bitCount(grain) != 1) {
      throw new CorruptImageException(location, what + ".grainSize", 20,
          Long.toUnsignedString(grain), "a power of two of at most " + MAX_GRAIN_SECTORS
              + " sectors");
    }
    if (gtes <= 0 || gtes > MAX_GTES_PER_GT) {
      throw new CorruptImageException(location, what + ".numGTEsPerGT", 44,
          Integer.toUnsignedString(gtes), "1 to " + MAX_GTES_PER_GT);
    }
    long maxCapacity = MAX_GD_ENTRIES * gtes * grain;
    if (capacity < 0 || capacity > maxCapacity) {
      throw new CorruptImageException(location, what + ".capacity", 12,
          Long.toUnsignedString(capacity), "at most " + maxCapacity + " sectors ("
              + MAX_GD_ENTRIES + " grain tables)");
    }
    long fileSectors = (fileLength + SECTOR - 1) / SECTOR;
    if (descOffset != 0 && (descOffset < 0 || descSectors < 0 || descSectors > (1 << 20)
        || descOffset > fileSectors || descSectors > fileSectors - descOffset)) {
      throw new CorruptImageException(location, what + ".descriptorOffset/Size", 28,
          Long.toUnsignedString(descOffset) + "/" + Long.toUnsignedString(descSectors),
          "a descriptor inside the " + fileLength + "-byte file");
    }
    if ((flags & FLAG_COMPRESSED) != 0 && compression != COMPRESSION_DEFLATE) {
      throw new CorruptImageException(location, what + ".compressAlgorithm", 77,
          Integer.toString(compression), "1 (deflate) for an image with compressed grains");
    }
    if (overhead < 0) {
      throw new CorruptImageException(location, what + ".overHead", 64,
          Long.toUnsignedString(overhead), "a sector count");
    }
    return new SparseHeader(version, flags, capacity, grain, descOffset, descSectors, gtes, rgd,
        gd, overhead, unclean, compression);
  }

  /** Entries of the grain directory: one per grain table needed to cover the capacity. */
  long gdEntries() {
    long perGt = gtesPerGt * grainSectors;
    return (capacity + perGt - 1) / perGt;
  }

  long grainBytes() {
    return grainSectors * SECTOR;
  }

  boolean has(int flag) {
    return (flags & flag) != 0;
  }

  boolean gdAtEnd() {
    return gdOffset == GD_AT_END;
  }

  /** The header's 512 bytes. */
  ByteBuffer toBytes() {
    ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(MAGIC).putInt(version).putInt(flags).putLong(capacity).putLong(grainSectors)
        .putLong(descOffset).putLong(descSectors).putInt(gtesPerGt).putLong(rgdOffset)
        .putLong(gdOffset).putLong(overhead).put((byte) (uncleanShutdown ? 1 : 0))
        .put((byte) '\n').put((byte) ' ').put((byte) '\r').put((byte) '\n')
        .putShort((short) compression);
    return b.clear();
  }

  /** This header with the grain directory at {@code gd} (a stream's footer). */
  SparseHeader withGd(long gd) {
    return new SparseHeader(version, flags, capacity, grainSectors, descOffset, descSectors,
        gtesPerGt, rgdOffset, gd, overhead, uncleanShutdown, compression);
  }

  static String hex(int v) {
    return String.format("0x%08x", v);
  }
}
