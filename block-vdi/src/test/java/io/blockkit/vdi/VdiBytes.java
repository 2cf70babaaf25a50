package io.blockkit.vdi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.IntFunction;

/**
 * Builds VDI files byte by byte for tests, independently of the driver's own header code, so that
 * each field can be set to any (also invalid) value. Defaults: version 1.1, header 400, dynamic,
 * 1 MiB blocks, map at 512, data right after the map (512-aligned).
 */
final class VdiBytes {
  int version = 0x00010001;
  int headerSize = 400;
  int type = 1;
  int flags = 0;
  long diskSize;
  int blockSize = 1 << 20;
  int blockExtra = 0;
  int blocks;
  int blocksAllocated;
  long mapOffset = 512;
  long dataOffset = -1;
  int lchsSectorSize = 512;
  UUID create = UUID.fromString("c92b558e-eba5-43e8-a8b3-984f946db1b2");
  UUID modify = UUID.fromString("0b7c4f0e-1111-4222-8333-944455556666");
  UUID linkage = new UUID(0, 0);
  UUID parentModify = new UUID(0, 0);
  /** LCHS cylinders, heads, sectors (400-byte headers), or null for 0/0/0. */
  int[] lchs;
  int[] map;
  /** Contents of physical block i (block size bytes), or null for none. */
  IntFunction<byte[]> physical = i -> null;
  /** Physical blocks to store after the data offset (may exceed what the map uses). */
  int physicalBlocks;
  /** Cut the file to this length (or -1). */
  long truncateTo = -1;

  static VdiBytes dynamic(long diskSize, int blockSize) {
    VdiBytes v = new VdiBytes();
    v.diskSize = diskSize;
    v.blockSize = blockSize;
    v.blocks = (int) ((diskSize + blockSize - 1) / blockSize);
    v.map = new int[v.blocks];
    Arrays.fill(v.map, -1);
    return v;
  }

  /** Maps virtual block {@code v} to physical block {@code p} filled with {@code fill}. */
  VdiBytes allocate(int v, int p) {
    map[v] = p;
    blocksAllocated = Math.max(blocksAllocated, p + 1);
    physicalBlocks = Math.max(physicalBlocks, p + 1);
    return this;
  }

  long effectiveDataOffset() {
    if (dataOffset >= 0) {
      return dataOffset;
    }
    return (mapOffset + 4L * map.length + 511) & -512L;
  }

  /** The expected content of a physical block in tests: byte k = (p * 31 + k * 7 + 1). */
  static byte[] pattern(int p, int blockSize) {
    byte[] b = new byte[blockSize];
    for (int k = 0; k < blockSize; k++) {
      b[k] = (byte) (p * 31 + k * 7 + 1);
    }
    return b;
  }

  byte[] build() {
    boolean v0 = version >>> 16 == 0;
    long mapOff = v0 ? 420 : mapOffset;
    long dataOff = v0 ? 420 + 4L * map.length : effectiveDataOffset();
    long total = (long) blockExtra + blockSize;
    long end = Math.max(mapOff + 4L * (map == null ? 0 : map.length),
        physicalBlocks == 0 ? 0 : dataOff + physicalBlocks * total);
    end = Math.max(end, 512);
    ByteBuffer b = ByteBuffer.allocate((int) end).order(ByteOrder.LITTLE_ENDIAN);
    byte[] text = "<<< test VirtualBox Disk Image >>>\n".getBytes();
    b.put(0, text);
    b.putInt(0x40, 0xbeda107f);
    b.putInt(0x44, version);
    if (v0) {
      b.putInt(72, type);
      b.putInt(76, flags);
      b.putInt(348, 512);
      b.putLong(352, diskSize);
      b.putInt(360, blockSize);
      b.putInt(364, blocks);
      b.putInt(368, blocksAllocated);
      putUuid(b, 372, create);
      putUuid(b, 388, modify);
      putUuid(b, 404, linkage);
    } else {
      b.putInt(72, headerSize);
      b.putInt(76, type);
      b.putInt(80, flags);
      b.putInt(340, (int) mapOff);
      b.putInt(344, (int) dataOff);
      b.putInt(360, 512);
      b.putLong(368, diskSize);
      b.putInt(376, blockSize);
      b.putInt(380, blockExtra);
      b.putInt(384, blocks);
      b.putInt(388, blocksAllocated);
      putUuid(b, 392, create);
      putUuid(b, 408, modify);
      putUuid(b, 424, linkage);
      putUuid(b, 440, parentModify);
      if (headerSize >= 400) {
        b.putInt(468, lchsSectorSize);
        for (int i = 0; lchs != null && i < 3; i++) {
          b.putInt(456 + 4 * i, lchs[i]);
        }
      }
    }
    if (map != null) {
      for (int i = 0; i < map.length; i++) {
        b.putInt((int) (mapOff + 4L * i), map[i]);
      }
    }
    for (int p = 0; p < physicalBlocks; p++) {
      byte[] content = physical.apply(p);
      if (content == null) {
        content = pattern(p, blockSize);
      }
      long at = dataOff + p * total;
      for (int k = 0; k < blockExtra; k++) {
        b.put((int) (at + k), (byte) 0xee);
      }
      b.put((int) (at + blockExtra), content);
    }
    byte[] out = b.array();
    return truncateTo >= 0 ? Arrays.copyOf(out, (int) truncateTo) : out;
  }

  static void putUuid(ByteBuffer b, int off, UUID u) {
    long m = u.getMostSignificantBits();
    ByteBuffer le = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    le.putInt(off, (int) (m >>> 32));
    le.putShort(off + 4, (short) (m >>> 16));
    le.putShort(off + 6, (short) m);
    b.duplicate().order(ByteOrder.BIG_ENDIAN).putLong(off + 8, u.getLeastSignificantBits());
  }
}
