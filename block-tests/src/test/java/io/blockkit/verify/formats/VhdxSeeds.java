package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Small VHDX images for the fuzz seed corpus, made by the vhdx driver itself (1 MiB blocks, disks
 * of a few MiB; stored folded). The dirty-log seed is a copy of a file taken while the image was
 * open, with the BAT page at its place rolled back to before the last commit, so only a replay of
 * the log (in memory, read-only) shows the block that commit allocated. Invalid seeds patch one
 * field each and reseal its checksum, as their names say.
 */
final class VhdxSeeds {
  private static final int HEADER1 = 64 * 1024;
  private static final int REGION1 = 192 * 1024;
  private static final int MIB = 1 << 20;
  /** Where create puts the (1 MiB) log. */
  private static final int LOG = 1 << 20;

  private VhdxSeeds() {}

  /** One step on the open image. */
  private interface Step {
    void apply(BlockDevice d) throws IOException;
  }

  private static Step write(long offset, int length, long seed) {
    return d -> d.write(offset, ByteBuffer.wrap(Images.pattern(seed, length)));
  }

  static List<Seed> valid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    seeds.add(new Seed("valid-vhdx-dynamic-empty", build(options("3M"))));
    seeds.add(new Seed("valid-vhdx-dynamic-blocks", build(options("3M"),
        write(100, 60, 1), write(2L * MIB, 50, 3), d -> d.discard(2L * MIB, MIB),
        d -> d.writeZeroes(110, 20))));
    seeds.add(new Seed("valid-vhdx-dynamic-partial-last-block", build(options("1536K"),
        write(MIB + 1000, 50, 4))));
    Map<String, String> notPresent = options("2M");
    notPresent.put("block_state_zero", "off");
    seeds.add(new Seed("valid-vhdx-not-present-blocks", build(notPresent, write(0, 50, 5))));
    Map<String, String> fixed = options("2M");
    fixed.put("subformat", "fixed");
    seeds.add(new Seed("valid-vhdx-fixed", build(fixed, write(MIB - 10, 20, 6))));
    Map<String, String> sectors = options("2M");
    sectors.put("logical_sector_size", "4096");
    seeds.add(new Seed("valid-vhdx-4k-sectors", build(sectors, write(4096, 50, 7),
        d -> d.writeZeroes(MIB, MIB))));
    seeds.add(new Seed("valid-vhdx-dirty-log-replayed-in-memory", dirtyLog()));
    return seeds;
  }

  /**
   * Images that must be refused or reported: no valid header, regions that overlap, BAT entries
   * past the end of the file, a differencing image without its parent, a disk too large for its
   * BAT, a log whose entries say the file was longer.
   */
  static List<Seed> invalid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    byte[] base = build(options("3M"), write(0, 50, 8));
    byte[] noHeader = base.clone();
    noHeader[HEADER1 + 100] ^= 1;
    noHeader[2 * HEADER1 + 100] ^= 1;
    seeds.add(new Seed("invalid-vhdx-no-valid-header", noHeader));
    byte[] overlap = base.clone();
    ByteBuffer rt = le(overlap);
    rt.putLong(REGION1 + 16 + 32 + 16, rt.getLong(REGION1 + 16 + 16)); // metadata onto the BAT
    seal(overlap, REGION1, 64 * 1024);
    seeds.add(new Seed("invalid-vhdx-regions-overlap", overlap));
    byte[] pastEnd = base.clone();
    long bat = le(pastEnd).getLong(REGION1 + 16 + 16);
    le(pastEnd).putLong((int) bat + 8, (64L << 20) | 6); // block 1 FULLY_PRESENT at 64 MiB
    seeds.add(new Seed("invalid-vhdx-block-past-end-of-file", pastEnd));
    byte[] huge = base.clone();
    long meta = le(huge).getLong(REGION1 + 16 + 32 + 16);
    le(huge).putLong((int) meta + 65536 + 8, 64L << 40); // virtual disk size: 64 TiB
    seeds.add(new Seed("invalid-vhdx-disk-larger-than-its-bat", huge));
    seeds.add(new Seed("invalid-vhdx-differencing-parent-missing", differencing()));
    byte[] truncated = dirtyLog();
    truncated = java.util.Arrays.copyOf(truncated, 3 * MIB);
    seeds.add(new Seed("invalid-vhdx-log-says-file-was-longer", truncated));
    return seeds;
  }

  private static Map<String, String> options(String size) {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("size", size);
    o.put("block_size", "1M");
    return o;
  }

  private static byte[] build(Map<String, String> options, Step... steps) throws IOException {
    String location = MemoryFiles.put("seed", new byte[0]);
    try {
      Images.create(location, "vhdx", options);
      try (BlockDevice d = Images.open(location, "vhdx", false)) {
        for (Step s : steps) {
          s.apply(d);
        }
      }
      byte[] image = MemoryFiles.get(location);
      // Closed cleanly, the header names no log: its old entries are noise in a seed.
      java.util.Arrays.fill(image, LOG, Math.min(image.length, LOG + MIB), (byte) 0);
      return image;
    } finally {
      MemoryFiles.delete(location);
    }
  }

  /** A copy of an open image whose last BAT change is in the log only. */
  private static byte[] dirtyLog() throws IOException {
    String location = MemoryFiles.put("seed", new byte[0]);
    try {
      Images.create(location, "vhdx", options("3M"));
      try (BlockDevice d = Images.open(location, "vhdx", false)) {
        write(2L * MIB, 50, 9).apply(d);
        d.flush();
        int bat = ((Number) d.info().formatSpecific().get("bat-offset")).intValue();
        byte[] before = MemoryFiles.get(location);
        write(100, 50, 10).apply(d);
        byte[] crash = MemoryFiles.get(location);
        System.arraycopy(before, bat, crash, bat, 4096);
        keepNewestLogEntry(crash);
        return crash;
      }
    } finally {
      MemoryFiles.delete(location);
    }
  }

  /** A differencing image over a raw parent that the seed does not carry. */
  private static byte[] differencing() throws IOException {
    String parent = MemoryFiles.put("seed-parent", new byte[2 * MIB]);
    String name = parent.substring(parent.lastIndexOf(':') + 1);
    String child = MemoryFiles.put("seed", new byte[0]);
    try {
      Map<String, String> o = options("2M");
      o.put("backing_file", name);
      o.put("backing_fmt", "raw");
      Images.create(child, "vhdx", o);
      return MemoryFiles.get(child);
    } finally {
      MemoryFiles.delete(child);
      MemoryFiles.delete(parent);
    }
  }

  /** Zeroes every log sector but those of the entry with the highest sequence number. */
  private static void keepNewestLogEntry(byte[] image) {
    ByteBuffer b = le(image);
    int newest = -1;
    for (int at = LOG; at < LOG + MIB; at += 4096) {
      if (b.getInt(at) == 0x65676F6C
          && (newest < 0 || b.getLong(at + 16) > b.getLong(newest + 16))) {
        newest = at;
      }
    }
    int end = newest + b.getInt(newest + 8);
    java.util.Arrays.fill(image, LOG, newest, (byte) 0);
    java.util.Arrays.fill(image, end, LOG + MIB, (byte) 0);
  }

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Recomputes the CRC-32C of the structure at {@code offset} (its checksum at +4). */
  private static void seal(byte[] image, int offset, int length) {
    le(image).putInt(offset + 4, 0);
    CRC32C crc = new CRC32C();
    crc.update(image, offset, length);
    le(image).putInt(offset + 4, (int) crc.getValue());
  }
}
