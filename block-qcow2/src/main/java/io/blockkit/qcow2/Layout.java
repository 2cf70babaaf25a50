package io.blockkit.qcow2;

/**
 * The arithmetic of one image's geometry: cluster and subcluster sizes, L2 and refcount block
 * entry counts, and the bit fields of L1, L2 and compressed-cluster entries. Immutable; derived
 * from validated header fields only.
 */
final class Layout {
  /** L1 and standard L2 entries: bits 9-55 hold a cluster-aligned host offset. */
  static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
  /** Bit 63 of L1 and L2 entries: the refcount of what the entry points to is exactly 1. */
  static final long COPIED = 1L << 63;
  /** Bit 62 of L2 entries: a compressed cluster. */
  static final long COMPRESSED = 1L << 62;
  /** Bit 0 of a standard L2 entry (v3, no extended L2): the cluster reads as zeros. */
  static final long ZERO = 1L;
  /** L1 entry bits that must be 0: 0-8 and 56-62. */
  static final long L1_RESERVED = 0x7f00_0000_0000_01ffL;
  /** Standard L2 entry bits that must be 0: 1-8 and 56-61. */
  static final long L2_RESERVED = 0x3f00_0000_0000_01feL;
  /** Refcount table entry bits that must be 0: 0-8 and 56-63. */
  static final long REFTABLE_RESERVED = 0xff00_0000_0000_01ffL;
  /** Subclusters per cluster with extended L2 entries. */
  static final int SUBCLUSTERS = 32;

  final int clusterBits;
  final long clusterSize;
  final boolean extendedL2;
  /** Bytes per L2 entry: 8, or 16 with extended L2 (entry plus subcluster bitmap). */
  final int l2EntryBytes;
  final int l2Bits;
  final int l2Entries;
  /** 1, or 32 with extended L2. */
  final int subclusters;
  final long subclusterSize;
  final int refcountOrder;
  final int refcountBits;
  /** The largest refcount an entry holds. */
  final long refcountMax;
  final int refblockBits;
  final long refblockEntries;
  /** Bit where a compressed descriptor's sector count starts. */
  final int compressedShift;

  Layout(int clusterBits, boolean extendedL2, int refcountOrder) {
    this.clusterBits = clusterBits;
    this.clusterSize = 1L << clusterBits;
    this.extendedL2 = extendedL2;
    this.l2EntryBytes = extendedL2 ? 16 : 8;
    this.l2Bits = clusterBits - (extendedL2 ? 4 : 3);
    this.l2Entries = 1 << l2Bits;
    this.subclusters = extendedL2 ? SUBCLUSTERS : 1;
    this.subclusterSize = clusterSize / subclusters;
    this.refcountOrder = refcountOrder;
    this.refcountBits = 1 << refcountOrder;
    this.refcountMax = refcountBits == 64 ? Long.MAX_VALUE : (1L << refcountBits) - 1;
    this.refblockBits = clusterBits + 3 - refcountOrder;
    this.refblockEntries = 1L << refblockBits;
    this.compressedShift = 62 - (clusterBits - 8);
  }

  /** Virtual bytes one L2 table maps. */
  long l2Span() {
    return clusterSize << l2Bits;
  }

  /** L1 entries a virtual size needs. */
  long l1EntriesFor(long virtualSize) {
    return ceilDiv(ceilDiv(virtualSize, clusterSize), l2Entries);
  }

  long l1Index(long guest) {
    return guest >>> (clusterBits + l2Bits);
  }

  int l2Index(long guest) {
    return (int) ((guest >>> clusterBits) & (l2Entries - 1));
  }

  long inCluster(long offset) {
    return offset & (clusterSize - 1);
  }

  long clusterIndex(long hostOffset) {
    return hostOffset >>> clusterBits;
  }

  long clusterStart(long offset) {
    return offset & -clusterSize;
  }

  boolean aligned(long offset) {
    return (offset & (clusterSize - 1)) == 0;
  }

  /**
   * The allocation bits of the subclusters overlapping {@code [from, to)} of one cluster (byte
   * offsets inside it, {@code from < to}); the zero bits are these shifted left by 32.
   */
  long subclusterMask(long from, long to) {
    int s0 = (int) (from / subclusterSize);
    int s1 = (int) ((to - 1) / subclusterSize);
    return ((1L << (s1 + 1)) - 1) & ~((1L << s0) - 1);
  }

  /** Clusters (whole or partial) covering {@code bytes}. */
  long clustersFor(long bytes) {
    return ceilDiv(bytes, clusterSize);
  }

  // ---------------------------------------------------------------- compressed descriptors

  /** Host byte offset of a compressed cluster's data. */
  long compressedOffset(long entry) {
    return entry & ((1L << compressedShift) - 1);
  }

  /** Bytes QEMU reads for a compressed cluster: whole sectors from the offset, minus the lead. */
  long compressedLength(long entry) {
    long sectors = ((entry & ~COPIED & ~COMPRESSED) >>> compressedShift) + 1;
    return sectors * 512 - (compressedOffset(entry) & 511);
  }

  /** The L2 entry of compressed data at {@code offset}, {@code length} bytes long. */
  long compressedEntry(long offset, long length) {
    long lastSector = (offset + length - 1) >>> 9;
    long extraSectors = lastSector - (offset >>> 9);
    return COMPRESSED | (extraSectors << compressedShift) | offset;
  }

  /** The most bytes a compressed cluster's descriptor can describe (QEMU writes less). */
  long maxCompressedLength() {
    return (1L << (clusterBits - 8)) * 512 - 511;
  }

  static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }
}
