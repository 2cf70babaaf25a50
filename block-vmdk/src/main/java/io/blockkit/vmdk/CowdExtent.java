package io.blockkit.vmdk;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A vmfsSparse extent ("COWD", the ESX redo-log format): a grain directory of tables with a fixed
 * 4096 entries, read-only in this driver. The header is little-endian: magic, version, flags,
 * capacity, grain size and GD offset (sectors, 32-bit), GD entries.
 */
final class CowdExtent {
  static final int MAGIC = 0x44574f43; // "COWD" read little-endian
  static final int GTES_PER_GT = 4096;
  private static final int HEADER_SECTORS = 4;

  private CowdExtent() {}

  static SparseExtent open(BlockDevice file, String name, long bytes) throws IOException {
    long fileLength = file.size();
    if (fileLength < 28) {
      throw new CorruptImageException(name, "COWD header", 0, fileLength + " bytes",
          "a vmfsSparse header of 2048 bytes");
    }
    ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
    file.read(0, b);
    if (b.getInt(0) != MAGIC) {
      throw new CorruptImageException(name, "COWD header.magic", 0,
          SparseHeader.hex(b.getInt(0)), "COWD");
    }
    long capacity = Integer.toUnsignedLong(b.getInt(12));
    long grain = Integer.toUnsignedLong(b.getInt(16));
    long gdOffset = Integer.toUnsignedLong(b.getInt(20));
    if (grain == 0 || grain > SparseHeader.MAX_GRAIN_SECTORS || Long.bitCount(grain) != 1) {
      throw new CorruptImageException(name, "COWD header.grainSize", 16, Long.toString(grain),
          "a power of two of at most " + SparseHeader.MAX_GRAIN_SECTORS + " sectors");
    }
    SparseHeader h = new SparseHeader(1, 0, capacity, grain, 0, 0, GTES_PER_GT, 0, gdOffset,
        HEADER_SECTORS, false, SparseHeader.COMPRESSION_NONE);
    return new SparseExtent(file, name, h, gdOffset, bytes, false);
  }
}
