package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Small valid VDI images for the fuzz seed corpus, made by the vdi driver itself.
 *
 * <p>The driver creates block sizes of 512 KiB and more, which would make seeds of megabytes; it
 * opens and writes any power of two from 512 bytes. So each seed starts as an empty image made by
 * {@code create}, whose header is re-laid out for a tiny block size (and, for the older header
 * versions, rewritten in their layout); then the driver itself opens it and writes the data,
 * ZERO entries and compactions. A few seeds patch a field afterwards (image type, parent UUID) or
 * cut the file short, as their names say.
 */
final class VdiSeeds {
  private static final int MAP_OFFSET = 512;
  private static final int V0_HEADER_END = 72 + 348;
  private static final int FREE = -1;

  private VdiSeeds() {}

  /** One write-like step on the open image. */
  private interface Step {
    void apply(BlockDevice d) throws IOException;
  }

  private static Step write(long offset, int length, long seed) {
    return d -> d.write(offset, ByteBuffer.wrap(Images.pattern(seed, length)));
  }

  private static Step zeroes(long offset, long length) {
    return d -> d.writeZeroes(offset, length);
  }

  private static Step discard(long offset, long length) {
    return d -> d.discard(offset, length);
  }

  /** The header versions the driver reads: 0.x, 1.1 with 384 bytes, 1.1 with 400 bytes. */
  enum Version { V0, V1_384, V1_400 }

  private record Layout(Version version, boolean fixed, int blockSize, int blockExtra,
      long diskSize) {
    int blocks() {
      return Math.toIntExact((diskSize + blockSize - 1) / blockSize);
    }
  }

  /** Every valid seed: the corpus's {@code valid-*} files. */
  static List<Seed> valid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    seeds.add(new Seed("valid-v1.1-400-dynamic-512k-as-created", created("1M", false)));
    seeds.add(seed("valid-v1.1-400-dynamic-512-empty",
        new Layout(Version.V1_400, false, 512, 0, 2048)));
    seeds.add(seed("valid-v1.1-400-dynamic-512-two-blocks",
        new Layout(Version.V1_400, false, 512, 0, 2048),
        write(700, 100, 1), write(1536, 512, 2)));
    seeds.add(seed("valid-v1.1-400-dynamic-1k-zero-entries",
        new Layout(Version.V1_400, false, 1024, 0, 4096),
        write(0, 1024, 3), write(2048, 10, 4), write(3072, 1024, 5),
        zeroes(2048, 1024), discard(1024, 1024)));
    seeds.add(seed("valid-v1.1-400-dynamic-4k-partial-last-block",
        new Layout(Version.V1_400, false, 4096, 0, 6000), write(5000, 1000, 6)));
    seeds.add(seed("valid-v1.1-400-dynamic-512-out-of-order",
        new Layout(Version.V1_400, false, 512, 0, 2048),
        write(1536, 512, 7), write(0, 512, 8), write(1024, 1, 9)));
    seeds.add(seed("valid-v1.1-400-fixed-512",
        new Layout(Version.V1_400, true, 512, 0, 2048), write(512, 300, 10)));
    seeds.add(seed("valid-v1.1-400-block-extra-512",
        new Layout(Version.V1_400, false, 512, 512, 1536),
        write(0, 512, 11), write(1100, 200, 12)));
    seeds.add(seed("valid-v1.1-384-dynamic-512",
        new Layout(Version.V1_384, false, 512, 0, 2048),
        write(512, 512, 13), zeroes(1024, 512)));
    seeds.add(seed("valid-v1.1-384-fixed-1k",
        new Layout(Version.V1_384, true, 1024, 0, 2048), write(100, 50, 14)));
    seeds.add(seed("valid-v0-dynamic-512",
        new Layout(Version.V0, false, 512, 0, 2048),
        write(0, 512, 15), write(1500, 20, 16), zeroes(512, 512)));
    seeds.add(seed("valid-v0-fixed-512",
        new Layout(Version.V0, true, 512, 0, 1536), write(1024, 512, 17)));
    byte[] undo = build(new Layout(Version.V1_400, false, 512, 0, 1024), write(0, 512, 18));
    seeds.add(new Seed("valid-v1.1-400-undo-type-patched", patchInt(undo, 76, 3)));
    // A differencing image opens only when no block is left to its parent (no FREE entry).
    byte[] diff = build(new Layout(Version.V1_400, false, 512, 0, 1536),
        zeroes(0, 1536), write(512, 512, 19));
    diff = patchInt(diff, 76, 4);
    diff = patchInt(diff, 424, 0x12345678);
    seeds.add(new Seed("valid-v1.1-400-differencing-no-free-block-patched", diff));
    byte[] odd = build(new Layout(Version.V1_400, false, 512, 0, 1024), write(0, 1000, 20));
    seeds.add(new Seed("valid-v1.1-400-disk-size-1000-patched", patchLong(odd, 368, 1000)));
    return seeds;
  }

  /**
   * Seeds that must be refused or reported, but never crash: header fields claiming a map of 2^29
   * entries in a file of a few hundred bytes, and 128 MiB blocks whose data the file cuts short.
   */
  static List<Seed> invalid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    byte[] empty = build(new Layout(Version.V1_400, false, 512, 0, 1024));
    byte[] huge = patchInt(empty.clone(), 384, 0x1fffff80);
    huge = patchLong(huge, 368, 0x1fffff8000000L);
    huge = patchInt(huge, 376, 1 << 20);
    huge = patchInt(huge, 344, 0x80000000);
    seeds.add(new Seed("invalid-huge-map-claimed-in-small-file", huge));
    seeds.add(new Seed("invalid-blocks-over-qemu-limit",
        patchInt(huge.clone(), 384, 0x1fffff81)));
    byte[] big = build(2048, new Layout(Version.V1_400, false, 128 << 20, 0, 512L << 20),
        write((128L << 20) + 4096, 100, 21));
    seeds.add(new Seed("invalid-128m-block-cut-short", big));
    return seeds;
  }

  /** A dynamic or fixed image exactly as {@code create} makes it. */
  private static byte[] created(String size, boolean fixed) throws IOException {
    String location = MemoryFiles.put("seed", new byte[0]);
    try {
      Images.create(location, "vdi", Map.of("size", size, "block_size", "512K",
          "static", fixed ? "on" : "off", "uuid", "5eed0000-b10c-4b17-8000-000000000001",
          "comment", "blockkit fuzz seed"));
      return MemoryFiles.get(location);
    } finally {
      MemoryFiles.delete(location);
    }
  }

  private static Seed seed(String name, Layout layout, Step... steps) throws IOException {
    return new Seed(name, build(layout, steps));
  }

  /** Re-lays out a created image for {@code layout}, then lets the driver apply {@code steps}. */
  private static byte[] build(Layout layout, Step... steps) throws IOException {
    return build(Integer.MAX_VALUE, layout, steps);
  }

  /** Like {@link #build(Layout, Step...)}, keeping only the first {@code keep} bytes. */
  private static byte[] build(int keep, Layout layout, Step... steps) throws IOException {
    byte[] header = Arrays.copyOf(created("1M", layout.fixed()), MAP_OFFSET);
    byte[] image = layout.version() == Version.V0 ? relayoutV0(header, layout)
        : relayoutV1(header, layout);
    String location = MemoryFiles.put("seed", image);
    try {
      try (BlockDevice d = Images.open(location, "vdi", false)) {
        for (Step s : steps) {
          s.apply(d);
        }
        d.flush();
      }
      return MemoryFiles.get(location, keep);
    } finally {
      MemoryFiles.delete(location);
    }
  }

  private static byte[] relayoutV1(byte[] created, Layout l) {
    int blocks = l.blocks();
    int dataOffset = (MAP_OFFSET + 4 * blocks + 511) & -512;
    ByteBuffer b = ByteBuffer.allocate(fileLength(dataOffset, l)).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, created);
    int headerSize = l.version() == Version.V1_384 ? 384 : 400;
    // A 384-byte header ends at 456: the LCHS geometry that follows is not part of it.
    Arrays.fill(b.array(), 72 + headerSize, MAP_OFFSET, (byte) 0);
    b.putInt(72, headerSize);
    b.putInt(340, MAP_OFFSET);
    b.putInt(344, dataOffset);
    b.putLong(368, l.diskSize());
    b.putInt(376, l.blockSize());
    b.putInt(380, l.blockExtra());
    b.putInt(384, blocks);
    b.putInt(388, l.fixed() ? blocks : 0);
    putMap(b, MAP_OFFSET, l);
    return b.array();
  }

  /** The version 0 layout: 348-byte header, map right after it, data right after the map. */
  private static byte[] relayoutV0(byte[] created, Layout l) {
    int blocks = l.blocks();
    int dataOffset = V0_HEADER_END + 4 * blocks;
    ByteBuffer c = ByteBuffer.wrap(created).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer b = ByteBuffer.allocate(fileLength(dataOffset, l)).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, created, 0, 0x44);
    b.putInt(0x44, 0x00000002); // the version 0 VirtualBox opens
    b.putInt(72, c.getInt(76));
    b.putInt(76, c.getInt(80));
    b.put(80, created, 84, 256);
    b.put(336, created, 348, 16);
    b.putLong(352, l.diskSize());
    b.putInt(360, l.blockSize());
    b.putInt(364, blocks);
    b.putInt(368, l.fixed() ? blocks : 0);
    b.put(372, created, 392, 32);
    putMap(b, V0_HEADER_END, l);
    return b.array();
  }

  private static int fileLength(int dataOffset, Layout l) {
    return dataOffset + (l.fixed() ? l.blocks() * (l.blockSize() + l.blockExtra()) : 0);
  }

  private static void putMap(ByteBuffer b, int offset, Layout l) {
    for (int i = 0; i < l.blocks(); i++) {
      b.putInt(offset + 4 * i, l.fixed() ? i : FREE);
    }
  }

  private static byte[] patchInt(byte[] image, int offset, int value) {
    ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
    return image;
  }

  private static byte[] patchLong(byte[] image, int offset, long value) {
    ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putLong(offset, value);
    return image;
  }
}
