package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Mutated VMDK images for the image fuzz harness. The sparse seeds are built here byte by byte
 * from the format description (one-sector grains and 16-entry tables keep them a few KB), each
 * with an embedded descriptor; text descriptors stand for the descriptor parser.
 */
final class VmdkFuzzTarget implements FuzzTarget {
  private static final int SECTOR = 512;

  /**
   * The driver's rule, restated: "KDMV" or "COWD" at 0 of at least one sector, or a first line
   * that is neither a comment nor spaces reading {@code version=1|2|3}, and a later line
   * starting with {@code createType=}, in the first 512 bytes.
   */
  @Override
  public int expectedProbeScore(byte[] image) {
    String head = new String(image, 0, Math.min(image.length, 4), StandardCharsets.ISO_8859_1);
    if (head.equals("KDMV") || head.equals("COWD")) {
      return image.length >= SECTOR ? 100 : 0;
    }
    String text = new String(image, 0, Math.min(image.length, SECTOR),
        StandardCharsets.ISO_8859_1);
    int p = 0;
    while (p < text.length()) {
      int eol = text.indexOf('\n', p);
      if (eol < 0) {
        return 0;
      }
      String line = text.substring(p, eol);
      String bare = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
      if (line.startsWith("#") || bare.matches(" +")) {
        p = eol + 1;
        continue;
      }
      boolean typed = false;
      for (String l : text.substring(eol + 1).split("\n")) {
        String t = l.replaceFirst("^[ \t]+", "");
        typed |= t.startsWith("createType") && t.substring(10).replaceFirst("^[ \t]+", "")
            .startsWith("=");
      }
      return bare.matches("version=[123]") && typed ? 100 : 0;
    }
    return 0;
  }

  @Override
  public List<Seed> validSeeds() throws IOException {
    List<Seed> out = new ArrayList<>();
    out.add(new Seed("valid-vmdk-sparse-v1", sparse(1, 0x3, new int[] {1, 0, 2})));
    out.add(new Seed("valid-vmdk-sparse-v2-no-rgd", sparse(2, 0x1, new int[] {0, 3, 0, 4})));
    out.add(new Seed("valid-vmdk-zeroed-grains", sparse(1, 0x7, new int[] {5, -1, 0, -1})));
    return out;
  }

  @Override
  public List<Seed> invalidSeeds() throws IOException {
    List<Seed> out = new ArrayList<>();
    byte[] base = sparse(1, 0x3, new int[] {1, 2});
    out.add(new Seed("invalid-vmdk-huge-capacity", patchLong(base, 12, 1L << 40)));
    out.add(new Seed("invalid-vmdk-grain-zero", patchLong(base, 20, 0)));
    out.add(new Seed("invalid-vmdk-gtes-100000", patchInt(base, 44, 100000)));
    out.add(new Seed("invalid-vmdk-gt-past-end", patchInt(base, GD * SECTOR, 0x7fffff00)));
    out.add(new Seed("invalid-vmdk-grain-in-header", patchInt(base, GT0 * SECTOR, 1 + 1)));
    out.add(new Seed("invalid-vmdk-grain-past-end", patchInt(base, GT0 * SECTOR + 4, 9999)));
    out.add(new Seed("invalid-vmdk-stream-without-footer",
        patchLong(sparse(3, 0x30001, new int[0]), 56, -1L)));
    out.add(new Seed("invalid-vmdk-descriptor-missing-extent", ("# Disk DescriptorFile\n"
        + "version=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
        + "RW 64 ZERO\nRW 32 FLAT \"gone-flat.vmdk\" 0\n").getBytes(StandardCharsets.US_ASCII)));
    out.add(new Seed("invalid-vmdk-bad-extent-line", ("# Disk DescriptorFile\nversion=1\n"
        + "createType=\"monolithicFlat\"\nRW many FLAT \"x\"\n").getBytes(StandardCharsets.US_ASCII)));
    return out;
  }

  // A small hosted sparse extent: 1-sector grains, 16-entry tables, 2 tables, 32 sectors.
  private static final int GRAIN = 1;
  private static final int GTES = 16;
  private static final int CAPACITY = 2 * GTES * GRAIN;
  private static final int RGD = 2;
  private static final int GD = 5;
  private static final int GT0 = 6;
  private static final int OVERHEAD = 8;

  /**
   * {@code grains[i]}: 0 unallocated, -1 zeroed (GT entry 1), n > 0 a grain filled with n,
   * stored in order after the overhead.
   */
  private static byte[] sparse(int version, int flags, int[] grains) {
    int stored = 0;
    for (int g : grains) {
      stored += g > 0 ? 1 : 0;
    }
    ByteBuffer b = ByteBuffer.allocate((OVERHEAD + stored * GRAIN) * SECTOR)
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, 0x564d444b).putInt(4, version).putInt(8, flags).putLong(12, CAPACITY)
        .putLong(20, GRAIN).putLong(28, 1).putLong(36, 1).putInt(44, GTES)
        .putLong(48, (flags & 2) != 0 ? RGD : 0).putLong(56, GD).putLong(64, OVERHEAD);
    b.put(73, (byte) '\n').put(74, (byte) ' ').put(75, (byte) '\r').put(76, (byte) '\n');
    byte[] desc = ("# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=ffffffff\n"
        + "createType=\"monolithicSparse\"\nRW " + CAPACITY + " SPARSE \"seed.vmdk\"\n"
        + "ddb.adapterType = \"ide\"\n").getBytes(StandardCharsets.US_ASCII);
    b.put(SECTOR, desc);
    for (int t = 0; t < 2; t++) {
      b.putInt(GD * SECTOR + 4 * t, GT0 + t);
      if ((flags & 2) != 0) {
        b.putInt(RGD * SECTOR + 4 * t, RGD + 1 + t);
      }
    }
    int next = OVERHEAD;
    for (int i = 0; i < grains.length; i++) {
      int entry = grains[i] == -1 ? 1 : 0;
      if (grains[i] > 0) {
        entry = next;
        for (int k = 0; k < GRAIN * SECTOR; k++) {
          b.put(next * SECTOR + k, (byte) grains[i]);
        }
        next += GRAIN;
      }
      b.putInt(GT0 * SECTOR + 4 * i, entry);
      if ((flags & 2) != 0) {
        b.putInt((RGD + 1) * SECTOR + 4 * i, entry);
      }
    }
    return b.array();
  }

  private static byte[] patchInt(byte[] image, int offset, int value) {
    byte[] out = image.clone();
    ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
    return out;
  }

  private static byte[] patchLong(byte[] image, int offset, long value) {
    byte[] out = image.clone();
    ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(offset, value);
    return out;
  }

  /** Sizes are whole sectors; sparse images have grains of a power of two. */
  @Override
  public void assertInfo(ImageInfo info) {
    assertEquals(0, info.virtualSize() % SECTOR, "virtual size " + info.virtualSize());
    long grain = info.clusterSize();
    assertTrue(grain == 0 || grain >= SECTOR && Long.bitCount(grain) == 1, "grain " + grain);
  }

  @Override
  public long firstDataOffset(ImageInfo info) {
    return SECTOR; // nothing but the header lives in the first sector
  }

  /**
   * Hosted sparse versions 1 and 2 with and without a redundant directory, zeroed grains. No
   * valid stream or ZERO-extent seed: the harness writes at random into every clean image, which
   * an append-only stream and a ZERO extent refuse (the block-vmdk tests cover both).
   */
  @Override
  public SeedCoverage coverage() {
    return new SeedCoverage() {
      final Set<String> types = new HashSet<>();
      boolean zeroed;

      @Override
      public void add(String name, byte[] image, ImageInfo info) {
        types.add((String) info.formatSpecific().get("create-type"));
        zeroed |= name.contains("zeroed");
      }

      @Override
      public void assertComplete() {
        assertEquals(Set.of("monolithicSparse"), types, "createTypes covered");
        assertTrue(zeroed, "no seed has zeroed grains");
      }
    };
  }
}
