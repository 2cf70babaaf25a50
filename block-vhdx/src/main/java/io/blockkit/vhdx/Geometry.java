package io.blockkit.vhdx;

/**
 * How virtual blocks map to BAT entries. Payload and sector-bitmap entries interleave: each chunk
 * of {@code chunkRatio} payload entries is followed by the entry of the 1 MiB sector-bitmap block
 * that covers it (2^23 logical sectors).
 *
 * @param virtualSize the disk's size in bytes
 * @param blockSize bytes per payload block
 * @param sectorSize the logical sector size
 * @param differencing whether the BAT also needs the last chunk's bitmap entry
 */
record Geometry(long virtualSize, long blockSize, int sectorSize, boolean differencing) {
  /** Payload blocks per chunk: (2^23 x logical sector size) / block size. */
  long chunkRatio() {
    return Layout.SECTORS_PER_BITMAP * sectorSize / blockSize;
  }

  long dataBlocks() {
    return (virtualSize + blockSize - 1) / blockSize;
  }

  long bitmapBlocks() {
    return (dataBlocks() + chunkRatio() - 1) / chunkRatio();
  }

  /** BAT entries the image needs: up to the last payload entry, or (differencing) its bitmap. */
  long entries() {
    long blocks = dataBlocks();
    if (blocks == 0) {
      return 0;
    }
    return differencing ? bitmapBlocks() * (chunkRatio() + 1)
        : blocks + (blocks - 1) / chunkRatio();
  }

  long payloadIndex(long block) {
    return block + block / chunkRatio();
  }

  long bitmapIndex(long chunk) {
    return chunk * (chunkRatio() + 1) + chunkRatio();
  }

  long sectorsPerBlock() {
    return blockSize / sectorSize;
  }

  /** Byte offset, inside its chunk's bitmap block, of the first bit of payload block {@code block}. */
  long bitmapByteOffset(long block) {
    return block % chunkRatio() * sectorsPerBlock() / 8;
  }
}
