package io.blockkit.vdi;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

/**
 * The VDI pre-header and header (version 0.2; version 1.x with 384 bytes, or 400 with LCHS
 * geometry), parsed and validated. Immutable except through {@link #encode}, which patches the two
 * fields a writing session changes (blocks_allocated and the modification UUID) into the bytes
 * read from the file so that everything else, including bytes we do not interpret, is written
 * back unchanged.
 */
final class VdiHeader {
  static final int PRE_HEADER_SIZE = 72;
  static final long SIGNATURE = 0xbeda107fL;
  static final int SIGNATURE_OFFSET = 0x40;
  static final int VERSION_OFFSET = 0x44;
  static final int VERSION_1_1 = 0x00010001;
  /** The only version-0 value VirtualBox opens ("0.2"); other 0.x values it refuses. */
  static final int VERSION_0 = 0x00000002;
  static final int V0_HEADER_SIZE = 348;
  static final int V1_HEADER_SIZE = 384;
  static final int V1_PLUS_HEADER_SIZE = 400;
  static final int COMMENT_SIZE = 256;
  static final int SECTOR_SIZE = 512;

  static final int TYPE_NORMAL = 1;
  static final int TYPE_FIXED = 2;
  static final int TYPE_UNDO = 3;
  static final int TYPE_DIFF = 4;

  /** On-disk flag bits VirtualBox accepts (its VD mask shifted back by 8): ZERO_EXPAND, FIXED, DIFF. */
  static final int FLAGS_MASK = 0x301;

  /** QEMU's VDI_BLOCKS_IN_IMAGE_MAX: the largest block map it reads in one request. */
  static final long MAX_BLOCKS = 0x1fffff80L;
  /** QEMU's VDI_DISK_SIZE_MAX: MAX_BLOCKS one-MiB blocks. */
  static final long MAX_DISK_SIZE = 0x1fffff8000000L;
  /** The smallest and largest block sizes this driver opens (a sector; VirtualBox's 128 MiB cap). */
  static final long MIN_BLOCK_SIZE = SECTOR_SIZE;
  static final long MAX_BLOCK_SIZE = 128L << 20;

  /** Bytes to read from the start of the file to parse any supported header. */
  static final int READ_SIZE = PRE_HEADER_SIZE + V1_PLUS_HEADER_SIZE;

  private final String location;
  private final byte[] raw;
  final int version;
  final int headerSize;
  final int type;
  final int flags;
  final String comment;
  final long blocksOffset;
  final long dataOffset;
  final int[] legacyGeometry;
  final int[] lchsGeometry;
  final long diskSize;
  final long blockSize;
  final long blockExtra;
  final long blocks;
  final long blocksAllocated;
  final UUID uuidCreate;
  final UUID uuidModify;
  final UUID uuidLinkage;
  final UUID uuidParentModify;

  private VdiHeader(String location, ByteBuffer b, int version) {
    this.location = location;
    this.version = version;
    boolean v0 = isV0(version);
    this.headerSize = v0 ? V0_HEADER_SIZE : b.getInt(72);
    int lenOnDisk = v0 ? V0_HEADER_SIZE
        : Integer.toUnsignedLong(headerSize) >= V1_PLUS_HEADER_SIZE ? V1_PLUS_HEADER_SIZE
            : V1_HEADER_SIZE;
    this.raw = new byte[PRE_HEADER_SIZE + lenOnDisk];
    b.get(0, raw, 0, raw.length);
    Layout l = v0 ? Layout.V0 : Layout.V1;
    this.type = b.getInt(l.type);
    this.flags = b.getInt(l.flags);
    this.comment = cString(b, l.comment, COMMENT_SIZE);
    this.legacyGeometry = ints(b, l.legacyGeometry, 4);
    this.diskSize = b.getLong(l.diskSize);
    this.blockSize = u32(b, l.blockSize);
    this.blockExtra = v0 ? 0 : u32(b, l.blockExtra);
    this.blocks = u32(b, l.blocks);
    this.blocksAllocated = u32(b, l.blocksAllocated);
    this.uuidCreate = uuid(b, l.uuidCreate);
    this.uuidModify = uuid(b, l.uuidModify);
    this.uuidLinkage = uuid(b, l.uuidLinkage);
    this.uuidParentModify = v0 ? new UUID(0, 0) : uuid(b, l.uuidParentModify);
    // VirtualBox reads (and validates) the LCHS geometry of version 1.1 headers only.
    this.lchsGeometry = lenOnDisk == V1_PLUS_HEADER_SIZE && version == VERSION_1_1
        ? ints(b, 456, 4) : null;
    if (v0) {
      // Version 0 has no offset fields: the map follows the header and the data follows the map.
      this.blocksOffset = PRE_HEADER_SIZE + V0_HEADER_SIZE;
      this.dataOffset = blocksOffset + 4 * blocks;
    } else {
      this.blocksOffset = u32(b, 340);
      this.dataOffset = u32(b, 344);
    }
  }

  /** Field offsets (from the start of the file) of the two header versions. */
  private enum Layout {
    V0(72, 76, 80, 336, 352, 360, -1, 364, 368, 372, 388, 404, -1),
    V1(76, 80, 84, 348, 368, 376, 380, 384, 388, 392, 408, 424, 440);

    final int type;
    final int flags;
    final int comment;
    final int legacyGeometry;
    final int diskSize;
    final int blockSize;
    final int blockExtra;
    final int blocks;
    final int blocksAllocated;
    final int uuidCreate;
    final int uuidModify;
    final int uuidLinkage;
    final int uuidParentModify;

    Layout(int type, int flags, int comment, int legacyGeometry, int diskSize, int blockSize,
        int blockExtra, int blocks, int blocksAllocated, int uuidCreate, int uuidModify,
        int uuidLinkage, int uuidParentModify) {
      this.type = type;
      this.flags = flags;
      this.comment = comment;
      this.legacyGeometry = legacyGeometry;
      this.diskSize = diskSize;
      this.blockSize = blockSize;
      this.blockExtra = blockExtra;
      this.blocks = blocks;
      this.blocksAllocated = blocksAllocated;
      this.uuidCreate = uuidCreate;
      this.uuidModify = uuidModify;
      this.uuidLinkage = uuidLinkage;
      this.uuidParentModify = uuidParentModify;
    }
  }

  static boolean isV0(int version) {
    return version >>> 16 == 0;
  }

  /**
   * VirtualBox's rule: every minor version of major 1 (1.0, 1.1, 1.2, ...: the minor never
   * changes the layout), and version 0 only as the value 0x00000002.
   */
  static boolean isSupported(int version) {
    return version >>> 16 == 1 || version == VERSION_0;
  }

  /**
   * Parses and validates the header at the start of {@code head} (the first bytes of a file of
   * {@code fileLength} bytes). Every rule VirtualBox's and QEMU's open apply is checked here, so
   * that no later code allocates or computes from an unchecked field.
   */
  static VdiHeader parse(String location, ByteBuffer head, long fileLength)
      throws CorruptImageException, UnsupportedFeatureException {
    ByteBuffer b = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    b.position(0);
    int avail = b.limit();
    if (avail < PRE_HEADER_SIZE) {
      throw new CorruptImageException(location, "pre-header", 0, "cut short (the file has "
          + fileLength + " bytes)", "at least " + PRE_HEADER_SIZE + " bytes");
    }
    long sig = u32(b, SIGNATURE_OFFSET);
    if (sig != SIGNATURE) {
      throw new CorruptImageException(location, "pre-header.signature", SIGNATURE_OFFSET,
          String.format("0x%08x", sig), String.format("0x%08x", SIGNATURE));
    }
    int version = b.getInt(VERSION_OFFSET);
    if (!isSupported(version)) {
      throw new UnsupportedFeatureException("VDI image '" + location + "' has version "
          + (version >>> 16) + "." + (version & 0xffff) + String.format(" (0x%08x)", version)
          + "; only versions 1.x and 0.2 (0x00000002) are supported, as in VirtualBox");
    }
    int needed = PRE_HEADER_SIZE + (isV0(version) ? V0_HEADER_SIZE : V1_HEADER_SIZE);
    if (!isV0(version) && avail >= PRE_HEADER_SIZE + 4 && u32(b, 72) >= V1_PLUS_HEADER_SIZE) {
      needed = PRE_HEADER_SIZE + V1_PLUS_HEADER_SIZE;
    }
    if (!isV0(version) && avail >= PRE_HEADER_SIZE + 4) {
      long hs = u32(b, 72);
      if (hs < V1_HEADER_SIZE) {
        throw new CorruptImageException(location, "header.header_size", 72, Long.toString(hs),
            "at least " + V1_HEADER_SIZE + " for version 1.x");
      }
    }
    if (avail < needed) {
      throw new CorruptImageException(location, "header", PRE_HEADER_SIZE, "cut short (the file has "
          + fileLength + " bytes)", "a complete " + (needed - PRE_HEADER_SIZE) + "-byte header");
    }
    VdiHeader h = new VdiHeader(location, b, version);
    h.validate(fileLength);
    return h;
  }

  private void validate(long fileLength) throws CorruptImageException,
      UnsupportedFeatureException {
    Layout l = isV0(version) ? Layout.V0 : Layout.V1;
    if (type < TYPE_NORMAL || type > TYPE_DIFF) {
      throw corrupt("header.image_type", l.type, Integer.toUnsignedString(type),
          "1 (dynamic), 2 (fixed), 3 (undo) or 4 (differencing)");
    }
    if ((flags & ~FLAGS_MASK) != 0) {
      throw corrupt("header.image_flags", l.flags, String.format("0x%08x", flags),
          String.format("no bits outside 0x%03x", FLAGS_MASK));
    }
    if (lchsGeometry != null && lchsGeometry[3] != SECTOR_SIZE) {
      throw corrupt("header.lchs_geometry.sector_size", 468,
          Integer.toUnsignedString(lchsGeometry[3]), "512");
    }
    if (diskSize < 0 || diskSize > MAX_DISK_SIZE) {
      throw new UnsupportedFeatureException("VDI image '" + location + "': header.disk_size is "
          + Long.toUnsignedString(diskSize) + " bytes, more than the supported maximum of "
          + MAX_DISK_SIZE + " (" + String.format("0x%x", MAX_DISK_SIZE) + ") bytes");
    }
    if (blockSize == 0) {
      throw corrupt("header.block_size", l.blockSize, "0", "a non-zero power of two");
    }
    if (Long.bitCount(blockSize) != 1) {
      throw corrupt("header.block_size", l.blockSize, Long.toString(blockSize), "a power of two");
    }
    if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
      throw new UnsupportedFeatureException("VDI image '" + location + "': header.block_size is "
          + blockSize + " bytes; supported block sizes are powers of two from " + MIN_BLOCK_SIZE
          + " bytes to " + (MAX_BLOCK_SIZE >> 20) + " MiB");
    }
    if (blockExtra != 0 && Long.bitCount(blockExtra) != 1) {
      throw corrupt("header.block_extra", l.blockExtra, Long.toString(blockExtra),
          "0 or a power of two");
    }
    if (blocks > MAX_BLOCKS) {
      throw new UnsupportedFeatureException("VDI image '" + location
          + "': header.blocks_in_image is " + blocks + ", more than the supported maximum of "
          + MAX_BLOCKS);
    }
    if (blocksAllocated > blocks) {
      throw corrupt("header.blocks_allocated", l.blocksAllocated, Long.toString(blocksAllocated),
          "at most blocks_in_image (" + blocks + ")");
    }
    if (blocks * blockSize < diskSize) {
      throw corrupt("header.disk_size", l.diskSize, Long.toString(diskSize),
          "at most blocks_in_image x block_size = " + blocks + " x " + blockSize + " = "
              + blocks * blockSize);
    }
    if (uuidCreate.getMostSignificantBits() == 0 && uuidCreate.getLeastSignificantBits() == 0) {
      throw corrupt("header.uuid_create", l.uuidCreate, "the null UUID", "a non-null UUID");
    }
    if (uuidModify.getMostSignificantBits() == 0 && uuidModify.getLeastSignificantBits() == 0) {
      throw corrupt("header.uuid_modify", l.uuidModify, "the null UUID", "a non-null UUID");
    }
    if (!isV0(version)) {
      long headerEnd = PRE_HEADER_SIZE + (long) Math.min(Integer.toUnsignedLong(headerSize),
          V1_PLUS_HEADER_SIZE);
      if (blocksOffset < headerEnd) {
        throw corrupt("header.offset_bmap", 340, Long.toString(blocksOffset),
            "at least " + headerEnd + " (past the header)");
      }
      if (dataOffset < blocksOffset + 4 * blocks) {
        throw corrupt("header.offset_data", 344, Long.toString(dataOffset),
            "at least offset_bmap + 4 x blocks_in_image = " + (blocksOffset + 4 * blocks)
                + " (the data area must not overlap the block map)");
      }
    }
    if (blocksOffset + 4 * blocks > fileLength) {
      throw corrupt("block map", blocksOffset, "of " + blocks + " entries ending at offset "
          + (blocksOffset + 4 * blocks) + ", past the end of the file (" + fileLength + " bytes)",
          "a block map inside the file");
    }
  }

  private CorruptImageException corrupt(String field, long offset, String found, String expected) {
    return new CorruptImageException(location, field, offset, found, expected);
  }

  boolean isV0() {
    return isV0(version);
  }

  /** True for differencing images: type 4 or a parent (linkage) UUID. */
  boolean isDifferencing() {
    return type == TYPE_DIFF || uuidLinkage.getMostSignificantBits() != 0
        || uuidLinkage.getLeastSignificantBits() != 0;
  }

  /** The disk size rounded up to whole sectors, as QEMU does, so no stored byte is hidden. */
  long virtualSize() {
    return (diskSize + SECTOR_SIZE - 1) & -(long) SECTOR_SIZE;
  }

  /** Bytes from one physical block to the next: the extra (service) area plus the data. */
  long totalBlockSize() {
    return blockExtra + blockSize;
  }

  /** File offset of the header field holding blocks_allocated. */
  int blocksAllocatedOffset() {
    return (isV0() ? Layout.V0 : Layout.V1).blocksAllocated;
  }

  /** Number of header bytes at the start of the file, the range {@link #encode} rewrites. */
  int encodedLength() {
    return raw.length;
  }

  /** The header bytes as read, with blocks_allocated and the modification UUID replaced. */
  ByteBuffer encode(long newBlocksAllocated, UUID newModify) {
    ByteBuffer b = ByteBuffer.wrap(raw.clone()).order(ByteOrder.LITTLE_ENDIAN);
    Layout l = isV0() ? Layout.V0 : Layout.V1;
    b.putInt(l.blocksAllocated, (int) newBlocksAllocated);
    putUuid(b, l.uuidModify, newModify);
    return b;
  }

  /** A change to a header's bytes, at the offsets of its version's layout. */
  private interface Patch {
    void apply(ByteBuffer b, Layout l);
  }

  /** A copy of this header with {@code patch} applied to its bytes, parsed again. */
  private VdiHeader edited(Patch patch) {
    ByteBuffer b = ByteBuffer.wrap(raw.clone()).order(ByteOrder.LITTLE_ENDIAN);
    patch.apply(b, isV0() ? Layout.V0 : Layout.V1);
    return new VdiHeader(location, b, version);
  }

  /** This header with another image UUID, parent UUID, parent modification UUID and type. */
  VdiHeader withIdentity(UUID create, UUID linkage, UUID parentModify, int newType) {
    return edited((b, l) -> {
      putUuid(b, l.uuidCreate, create);
      putUuid(b, l.uuidLinkage, linkage);
      if (l.uuidParentModify >= 0) {
        putUuid(b, l.uuidParentModify, parentModify);
      }
      b.putInt(l.type, newType);
    });
  }

  /** This header with another comment (at most 255 bytes of UTF-8, checked by the caller). */
  VdiHeader withComment(byte[] text) {
    return edited((b, l) -> {
      b.put(l.comment, new byte[COMMENT_SIZE]);
      b.put(l.comment, text);
    });
  }

  /**
   * This header with another disk size, block count and map and data offsets (version 1.x only:
   * version 0 implies its offsets), as a resize leaves it.
   */
  VdiHeader withGeometry(long newDiskSize, long newBlocks, long newBlocksOffset,
      long newDataOffset) {
    if (isV0()) {
      throw new IllegalStateException("version 0 headers imply their offsets");
    }
    return edited((b, l) -> {
      b.putLong(l.diskSize, newDiskSize);
      b.putInt(l.blocks, (int) newBlocks);
      b.putInt(340, (int) newBlocksOffset);
      b.putInt(344, (int) newDataOffset);
    });
  }

  /** The LCHS geometry as stored (cylinders, heads, sectors, sector size), or null. */
  int[] lchs() {
    return lchsGeometry == null ? null : lchsGeometry.clone();
  }

  /** True when the header has room for a parent modification UUID (version 1.x). */
  boolean hasParentModify() {
    return !isV0();
  }

  String typeName() {
    return switch (type) {
      case TYPE_NORMAL -> "dynamic";
      case TYPE_FIXED -> "fixed";
      case TYPE_UNDO -> "undo";
      default -> "differencing";
    };
  }

  String versionText() {
    return (version >>> 16) + "." + (version & 0xffff);
  }

  static long u32(ByteBuffer b, int offset) {
    return Integer.toUnsignedLong(b.getInt(offset));
  }

  private static int[] ints(ByteBuffer b, int offset, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = b.getInt(offset + 4 * i);
    }
    return out;
  }

  private static String cString(ByteBuffer b, int offset, int max) {
    byte[] bytes = new byte[max];
    b.get(offset, bytes);
    int n = 0;
    while (n < max && bytes[n] != 0) {
      n++;
    }
    return new String(Arrays.copyOf(bytes, n), StandardCharsets.UTF_8);
  }

  /** Reads a UUID stored in VirtualBox's (IPRT/GUID) mixed-endian byte order. */
  static UUID uuid(ByteBuffer b, int offset) {
    long msb = (Integer.toUnsignedLong(Integer.reverseBytes(b.duplicate()
        .order(ByteOrder.BIG_ENDIAN).getInt(offset))) << 32)
        | (Short.toUnsignedLong(Short.reverseBytes(b.duplicate().order(ByteOrder.BIG_ENDIAN)
            .getShort(offset + 4))) << 16)
        | Short.toUnsignedLong(Short.reverseBytes(b.duplicate().order(ByteOrder.BIG_ENDIAN)
            .getShort(offset + 6)));
    long lsb = b.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(offset + 8);
    return new UUID(msb, lsb);
  }

  /** Writes a UUID in VirtualBox's mixed-endian byte order: the first three groups little-endian. */
  static void putUuid(ByteBuffer b, int offset, UUID u) {
    ByteBuffer be = b.duplicate().order(ByteOrder.BIG_ENDIAN);
    long msb = u.getMostSignificantBits();
    be.putInt(offset, Integer.reverseBytes((int) (msb >>> 32)));
    be.putShort(offset + 4, Short.reverseBytes((short) (msb >>> 16)));
    be.putShort(offset + 6, Short.reverseBytes((short) msb));
    be.putLong(offset + 8, u.getLeastSignificantBits());
  }
}
