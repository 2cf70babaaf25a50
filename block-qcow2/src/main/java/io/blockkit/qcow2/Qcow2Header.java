package io.blockkit.qcow2;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The header in cluster 0: the fixed fields, the header extensions and the backing file name.
 * {@link #parse} checks every field before anything is sized from it; {@link #encode} writes it
 * back with every extension it read, unknown ones included, in qemu's order. Instances are
 * mutable and guarded by the image's header lock.
 */
final class Qcow2Header {
  static final int MAGIC = 0x514649fb;
  static final int V2_LENGTH = 72;
  static final int V3_MIN_LENGTH = 104;
  /** What qemu 7.2 writes: 104 bytes, the compression type and 7 bytes of padding. */
  static final int V3_LENGTH = 112;
  static final int MIN_CLUSTER_BITS = 9;
  static final int MAX_CLUSTER_BITS = 21;
  static final int MAX_BACKING_NAME = 1023;
  /** qemu's limits: 32 MiB of L1, 8 MiB of refcount table, 65536 snapshots. */
  static final long MAX_L1_BYTES = 32L << 20;
  static final long MAX_REFTABLE_BYTES = 8L << 20;
  static final long MAX_SNAPSHOTS = 65536;
  static final int COMPRESSION_ZLIB = 0;
  static final int COMPRESSION_ZSTD = 1;

  static final int EXT_END = 0;
  static final int EXT_BACKING_FORMAT = 0xe2792aca;
  static final int EXT_FEATURE_TABLE = 0x6803f857;
  static final int EXT_BITMAPS = 0x23852875;
  static final int EXT_CRYPTO = 0x0537be77;
  static final int EXT_DATA_FILE = 0x44415441;

  /** An extension blockkit does not interpret, kept byte for byte. */
  record Extension(int type, byte[] data) {}

  int version;
  int clusterBits;
  long size;
  int cryptMethod;
  int l1Size;
  long l1Offset;
  long refcountTableOffset;
  int refcountTableClusters;
  int nbSnapshots;
  long snapshotsOffset;
  long incompatible;
  long compatible;
  long autoclear;
  int refcountOrder = 4;
  int headerLength = V2_LENGTH;
  int compressionType;
  /** Header bytes past the 112 blockkit knows, kept as found. */
  byte[] unknownFields = new byte[0];
  String backingFile;
  String backingFormat;
  String dataFile;
  /** The bitmaps extension's 24 bytes, or null. */
  byte[] bitmapsExtension;
  List<Features.Name> featureTable = List.of();
  List<Extension> unknownExtensions = new ArrayList<>();

  /** A copy of every field, to restore when a header write fails. */
  Qcow2Header copy() {
    Qcow2Header c = new Qcow2Header();
    c.restore(this);
    return c;
  }

  /** Sets every field from {@code o}. */
  void restore(Qcow2Header o) {
    version = o.version;
    clusterBits = o.clusterBits;
    size = o.size;
    cryptMethod = o.cryptMethod;
    l1Size = o.l1Size;
    l1Offset = o.l1Offset;
    refcountTableOffset = o.refcountTableOffset;
    refcountTableClusters = o.refcountTableClusters;
    nbSnapshots = o.nbSnapshots;
    snapshotsOffset = o.snapshotsOffset;
    incompatible = o.incompatible;
    compatible = o.compatible;
    autoclear = o.autoclear;
    refcountOrder = o.refcountOrder;
    headerLength = o.headerLength;
    compressionType = o.compressionType;
    unknownFields = o.unknownFields;
    backingFile = o.backingFile;
    backingFormat = o.backingFormat;
    dataFile = o.dataFile;
    bitmapsExtension = o.bitmapsExtension;
    featureTable = o.featureTable;
    unknownExtensions = new ArrayList<>(o.unknownExtensions);
  }

  Layout layout() {
    return new Layout(clusterBits, (incompatible & Features.EXTENDED_L2) != 0, refcountOrder);
  }

  long clusterSize() {
    return 1L << clusterBits;
  }

  boolean has(long incompatibleBit) {
    return (incompatible & incompatibleBit) != 0;
  }

  /**
   * Reads the header from the first bytes of the file.
   *
   * @param head the file's first bytes: at least the cluster, or the whole file if shorter
   * @param fileLength the file's length, which every table must fit in
   * @throws CorruptImageException naming the field, the value and the rule it breaks
   * @throws UnsupportedFeatureException for versions, features and encryption blockkit lacks
   */
  static Qcow2Header parse(String location, ByteBuffer head, long fileLength)
      throws CorruptImageException, UnsupportedFeatureException {
    Fields f = new Fields(location, head);
    Qcow2Header h = new Qcow2Header();
    if (head.limit() < V2_LENGTH || head.getInt(0) != MAGIC) {
      throw new CorruptImageException(location, "header", 0, head.limit() < V2_LENGTH
          ? "only " + head.limit() + " bytes long" : "without the qcow2 magic",
          "a qcow2 header of at least 72 bytes starting with QFI\\xfb");
    }
    h.version = head.getInt(4);
    if (h.version != 2 && h.version != 3) {
      throw new UnsupportedFeatureException("'" + location + "' is a qcow2 image of version "
          + Integer.toUnsignedString(h.version) + "; blockkit reads versions 2 and 3 (header.version"
          + " at offset 4)");
    }
    h.clusterBits = f.u32(20, "header.cluster_bits", MIN_CLUSTER_BITS, MAX_CLUSTER_BITS);
    long cs = 1L << h.clusterBits;
    long backingOffset = head.getLong(8);
    long backingSize = Integer.toUnsignedLong(head.getInt(16));
    h.size = head.getLong(24);
    if (h.size < 0) {
      throw f.bad("header.size", 24, Long.toUnsignedString(h.size), "at most 2^63-1 bytes");
    }
    h.cryptMethod = head.getInt(32);
    h.l1Size = (int) f.u32(36, "header.l1_size", 0, MAX_L1_BYTES / 8);
    h.l1Offset = head.getLong(40);
    h.refcountTableOffset = head.getLong(48);
    h.refcountTableClusters = (int) f.u32(56, "header.refcount_table_clusters", 0,
        MAX_REFTABLE_BYTES / cs);
    h.nbSnapshots = (int) f.u32(60, "header.nb_snapshots", 0, MAX_SNAPSHOTS);
    h.snapshotsOffset = head.getLong(64);
    int extStart = V2_LENGTH;
    if (h.version == 3) {
      if (head.limit() < V3_MIN_LENGTH) {
        throw f.bad("header", 0, head.limit() + " bytes", "at least 104 bytes for version 3");
      }
      h.incompatible = head.getLong(72);
      h.compatible = head.getLong(80);
      h.autoclear = head.getLong(88);
      h.refcountOrder = f.u32(96, "header.refcount_order", 0, 6);
      h.headerLength = f.u32(100, "header.header_length", V3_MIN_LENGTH, cs);
      if (h.headerLength > head.limit()) {
        throw f.bad("header.header_length", 100, Integer.toString(h.headerLength),
            "at most the file's " + head.limit() + " bytes");
      }
      if (h.headerLength > V3_MIN_LENGTH) {
        h.compressionType = head.get(104) & 0xff;
      }
      if (h.headerLength > V3_LENGTH) {
        h.unknownFields = new byte[h.headerLength - V3_LENGTH];
        head.get(V3_LENGTH, h.unknownFields);
      }
      extStart = h.headerLength;
    }
    long unknownIncompatible = h.incompatible & ~Features.KNOWN_INCOMPATIBLE;
    int end = h.readExtensions(f, extStart, (int) Math.min(cs, head.limit()));
    if (unknownIncompatible != 0) {
      throw new UnsupportedFeatureException("'" + location + "' uses qcow2 features blockkit does "
          + "not support: " + Features.describe(Features.INCOMPATIBLE, unknownIncompatible,
              h.featureTable) + " (header.incompatible_features = 0x"
          + Long.toHexString(h.incompatible) + ")");
    }
    if (h.cryptMethod != 0) {
      throw new UnsupportedFeatureException("'" + location + "' is an encrypted qcow2 image "
          + "(header.crypt_method = " + Integer.toUnsignedString(h.cryptMethod) + "); blockkit "
          + "does not support encryption");
    }
    if (h.compressionType > COMPRESSION_ZSTD) {
      throw new UnsupportedFeatureException("'" + location + "' uses compression type "
          + h.compressionType + " (header.compression_type at offset 104); blockkit knows 0 "
          + "(zlib) and 1 (zstd)");
    }
    if ((h.compressionType != 0) != h.has(Features.COMPRESSION_TYPE)) {
      throw f.bad("header.compression_type", 104, Integer.toString(h.compressionType),
          h.has(Features.COMPRESSION_TYPE) ? "non-zero with incompatible bit 3 (compression type)"
              : "0 without incompatible bit 3 (compression type)");
    }
    if (h.has(Features.EXTENDED_L2) && h.clusterBits < 14) {
      throw f.bad("header.cluster_bits", 20, Integer.toString(h.clusterBits),
          "at least 14 with extended L2 entries (subclusters of at least 512 bytes)");
    }
    if (backingOffset != 0) {
      if (backingSize > MAX_BACKING_NAME || backingOffset > cs - backingSize
          || backingOffset + backingSize > head.limit()) {
        throw f.bad("header.backing_file_offset", 8, backingOffset + " (size " + backingSize + ")",
            "a name of at most 1023 bytes inside cluster 0 and the file");
      }
      if (backingOffset < end && backingSize > 0) {
        throw f.bad("header.backing_file_offset", 8, Long.toString(backingOffset),
            "past the header and its extensions (which end at " + end + ")");
      }
      byte[] name = new byte[(int) backingSize];
      head.get((int) backingOffset, name);
      h.backingFile = new String(name, StandardCharsets.UTF_8);
    }
    h.checkTables(f, fileLength);
    return h;
  }

  /** Reads the extensions from {@code at}; returns where they end. */
  private int readExtensions(Fields f, int at, int limit) throws CorruptImageException {
    List<Features.Name> table = List.of();
    while (true) {
      if (at + 8 > limit) {
        throw f.bad("header extension", at, "cut off at the end of cluster 0",
            "an end-of-extensions marker inside cluster 0");
      }
      int type = f.head.getInt(at);
      long len = Integer.toUnsignedLong(f.head.getInt(at + 4));
      if (type == EXT_END) {
        featureTable = table;
        return at + 8;
      }
      if (len > limit - at - 8) {
        throw f.bad("header extension 0x" + Integer.toHexString(type) + " length", at + 4,
            Long.toString(len), "at most the " + (limit - at - 8) + " bytes left in cluster 0");
      }
      byte[] data = new byte[(int) len];
      f.head.get(at + 8, data);
      switch (type) {
        case EXT_BACKING_FORMAT -> backingFormat = new String(data, StandardCharsets.UTF_8);
        case EXT_FEATURE_TABLE -> table = Features.parseTable(ByteBuffer.wrap(data));
        case EXT_DATA_FILE -> dataFile = new String(data, StandardCharsets.UTF_8);
        case EXT_BITMAPS -> {
          if (len != 24) {
            throw f.bad("bitmaps extension length", at + 4, Long.toString(len), "24");
          }
          bitmapsExtension = data;
        }
        case EXT_CRYPTO -> unknownExtensions.add(new Extension(type, data));
        default -> unknownExtensions.add(new Extension(type, data));
      }
      at += 8 + (int) ((len + 7) & ~7L);
    }
  }

  private void checkTables(Fields f, long fileLength) throws CorruptImageException {
    long cs = clusterSize();
    Layout layout = layout();
    if (refcountTableClusters == 0) {
      throw f.bad("header.refcount_table_clusters", 56, "0",
          "at least 1: the image has no reference count table");
    }
    f.table("refcount table", 48, refcountTableOffset, refcountTableClusters * cs, cs,
        fileLength);
    if (nbSnapshots > 0) {
      // Entries are at least 40 bytes; the table's real length is checked when it is read.
      f.table("snapshot table", 64, snapshotsOffset, nbSnapshots * 40L, cs, fileLength);
    }
    long needed = layout.l1EntriesFor(size);
    if (needed > MAX_L1_BYTES / 8) {
      throw f.bad("header.size", 24, Long.toString(size), "a size whose L1 table fits in 32 MiB "
          + "(at most " + (MAX_L1_BYTES / 8 * layout.l2Span()) + " bytes with "
          + cs + "-byte clusters)");
    }
    if (l1Size < needed) {
      throw f.bad("header.l1_size", 36, Integer.toString(l1Size), "at least " + needed
          + " entries for a virtual size of " + size + " bytes (L1 table too small)");
    }
    if (l1Size > 0) {
      f.table("L1 table", 40, l1Offset, l1Size * 8L, cs, fileLength);
    }
  }

  /**
   * The header, its extensions and the backing file name, as written to offset 0.
   *
   * @throws UnsupportedFeatureException when they do not fit in cluster 0
   */
  byte[] encode() throws UnsupportedFeatureException {
    long cs = clusterSize();
    int fixed = version == 2 ? V2_LENGTH : Math.max(V3_LENGTH, V3_LENGTH + unknownFields.length);
    ByteBuffer b = ByteBuffer.allocate((int) cs);
    b.putInt(0, MAGIC).putInt(4, version).putInt(20, clusterBits).putLong(24, size)
        .putInt(32, cryptMethod).putInt(36, l1Size).putLong(40, l1Offset)
        .putLong(48, refcountTableOffset).putInt(56, refcountTableClusters)
        .putInt(60, nbSnapshots).putLong(64, snapshotsOffset);
    if (version == 3) {
      b.putLong(72, incompatible).putLong(80, compatible).putLong(88, autoclear)
          .putInt(96, refcountOrder).putInt(100, fixed).put(104, (byte) compressionType);
      b.put(V3_LENGTH, unknownFields);
    }
    b.position(fixed);
    try {
      if (backingFormat != null) {
        putExtension(b, EXT_BACKING_FORMAT, backingFormat.getBytes(StandardCharsets.UTF_8));
      }
      if (dataFile != null) {
        putExtension(b, EXT_DATA_FILE, dataFile.getBytes(StandardCharsets.UTF_8));
      }
      if (version == 3) {
        putExtension(b, EXT_FEATURE_TABLE, Features.encodeTable(mergedFeatureTable()));
      }
      if (bitmapsExtension != null) {
        putExtension(b, EXT_BITMAPS, bitmapsExtension);
      }
      for (Extension e : unknownExtensions) {
        putExtension(b, e.type(), e.data());
      }
      b.putInt(EXT_END).putInt(0);
      if (backingFile != null) {
        byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
        b.putLong(8, b.position()).putInt(16, name.length);
        b.put(name);
      }
    } catch (java.nio.BufferOverflowException e) {
      throw new UnsupportedFeatureException("The qcow2 header, its extensions and the backing file"
          + " name do not fit in one " + cs + "-byte cluster");
    }
    byte[] out = new byte[b.position()];
    b.get(0, out);
    return out;
  }

  /** Our names first, then names the image had for bits we do not know (kept for others). */
  private List<Features.Name> mergedFeatureTable() {
    List<Features.Name> out = new ArrayList<>(Features.OWN_TABLE);
    for (Features.Name n : featureTable) {
      if (out.stream().noneMatch(o -> o.kind() == n.kind() && o.bit() == n.bit())) {
        out.add(n);
      }
    }
    return out;
  }

  private static void putExtension(ByteBuffer b, int type, byte[] data) {
    b.putInt(type).putInt(data.length).put(data);
    b.position((b.position() + 7) & ~7);
  }

  /** Reads fields of the head and builds the errors that name them. */
  private static final class Fields {
    final String location;
    final ByteBuffer head;

    Fields(String location, ByteBuffer head) {
      this.location = location;
      this.head = head;
    }

    int u32(int at, String name, long min, long max) throws CorruptImageException {
      long v = Integer.toUnsignedLong(head.getInt(at));
      if (v < min || v > max) {
        throw bad(name, at, Long.toString(v), "from " + min + " to " + max);
      }
      return (int) v;
    }

    /** A table must be cluster aligned, after cluster 0 and inside the file. */
    void table(String what, int field, long offset, long bytes, long cs, long fileLength)
        throws CorruptImageException {
      String name = "header offset of the " + what;
      if (offset <= 0 || (offset & (cs - 1)) != 0) {
        throw bad(name, field, Long.toString(offset), "a non-zero multiple of the cluster size "
            + cs + " (the table must not overlap the header)");
      }
      if (offset > fileLength || bytes > fileLength - offset) {
        throw bad(name, field, offset + " (" + bytes + " bytes)", "a table inside the file of "
            + fileLength + " bytes");
      }
    }

    CorruptImageException bad(String name, long at, String found, String expected) {
      return new CorruptImageException(location, name, at, found, expected);
    }
  }
}
