package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Small VHD images for the fuzz seed corpus, made by the vpc driver itself with blocks of 512
 * bytes to 1 KiB (so each stays a few KB); a few are patched afterwards (a creator, a locator, a
 * field of the invalid ones), with their checksums recomputed here from the format's rule.
 *
 * <p>Differencing seeds name the parent {@value #PARENT}, a fixed VHD of 8 KiB with a fixed
 * unique id and time stamp that {@link #ensureParent} puts into the {@code memory} protocol; a
 * seed stored under {@code memory:NAME} finds it next to itself.
 */
final class VpcSeeds {
  static final String PARENT = "vpc-fuzz-parent.vhd";
  static final UUID PARENT_ID = UUID.fromString("5eed0000-7668-4400-8000-000000000001");
  static final long PARENT_TIMESTAMP = 0x30000000L;
  private static final int PARENT_SIZE = 8192;
  private static final int HEADER = 512;
  private static final int BAT = 1536;

  private VpcSeeds() {}

  /** Creates the fuzz parent in memory unless this JVM has it already. */
  static synchronized void ensureParent() throws IOException {
    if (MemoryDriver.exists(PARENT)) {
      return;
    }
    String location = MemoryDriver.NAME + ":" + PARENT;
    Images.create(location, "vpc", Map.of("size", Integer.toString(PARENT_SIZE),
        "subformat", "fixed", "force_size", "on"));
    try (BlockDevice raw = Images.open(location, "raw", false)) {
      Images.write(raw, 0, Images.pattern(0x9a7e, PARENT_SIZE));
      byte[] footer = Images.read(raw, PARENT_SIZE, 512);
      ByteBuffer.wrap(footer).putInt(24, (int) PARENT_TIMESTAMP)
          .putLong(68, PARENT_ID.getMostSignificantBits())
          .putLong(76, PARENT_ID.getLeastSignificantBits());
      seal(footer, 0, 512, 64);
      Images.write(raw, PARENT_SIZE, footer);
    }
  }

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

  private static Map<String, String> opts(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  /** An image the driver creates with {@code options} and writes with {@code steps}. */
  private static byte[] created(Map<String, String> options, Step... steps) throws IOException {
    String location = MemoryFiles.put("vpc-seed", new byte[0]);
    try {
      Images.create(location, "vpc", options);
      try (BlockDevice d = Images.open(location, "vpc", false)) {
        for (Step s : steps) {
          s.apply(d);
        }
        d.flush();
      }
      return MemoryFiles.get(location);
    } finally {
      MemoryFiles.delete(location);
    }
  }

  /** Dynamic, 512-byte blocks, 4 KiB: blocks 1 and 3 written (partly). */
  private static byte[] twoBlocks() throws IOException {
    return created(opts("size", "4K", "block_size", "512", "force_size", "on"),
        write(700, 100, 1), write(1536, 512, 2));
  }

  private static byte[] differencing() throws IOException {
    ensureParent();
    return created(opts("backing_file", PARENT, "block_size", "512"),
        write(100, 10, 3), write(1024, 600, 4), zeroes(3000, 50));
  }

  /** Every valid seed: the corpus's {@code valid-vpc-*} files. */
  static List<Seed> valid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    seeds.add(new Seed("valid-vpc-dynamic-as-created", created(opts("size", "4K"))));
    seeds.add(new Seed("valid-vpc-dynamic-512-two-blocks", twoBlocks()));
    seeds.add(new Seed("valid-vpc-dynamic-1k-partial-sectors", created(
        opts("size", "4K", "block_size", "1K", "force_size", "on"),
        write(100, 10, 5), write(2600, 300, 6), zeroes(2560, 512), write(3500, 596, 7))));
    seeds.add(new Seed("valid-vpc-dynamic-chs-sized-512", created(
        opts("size", "1000", "block_size", "512"), write(30000, 2000, 8))));
    seeds.add(new Seed("valid-vpc-fixed-4k", created(
        opts("size", "4K", "subformat", "fixed", "force_size", "on"), write(1000, 2000, 9))));
    byte[] win = created(opts("size", "2K", "subformat", "fixed", "force_size", "on"),
        write(0, 2048, 10));
    // Hyper-V's creator fields: size from current_size, geometry as the specification gives it.
    int f = win.length - 512;
    win[f + 28] = 'w';
    win[f + 29] = 'i';
    win[f + 30] = 'n';
    win[f + 31] = ' ';
    ByteBuffer.wrap(win).putInt(f + 32, 0x000a0000).putInt(f + 56, 0x00000411);
    seal(win, f, 512, 64);
    seeds.add(new Seed("valid-vpc-fixed-hyperv-creator-patched", win));
    seeds.add(new Seed("valid-vpc-differencing-512", differencing()));
    seeds.add(new Seed("valid-vpc-differencing-wi2r-fallback-patched", wi2rFallback()));
    return seeds;
  }

  /**
   * The differencing seed with its locators rewritten: a W2ru name that leads nowhere, then the
   * parent's name in a deprecated ANSI Wi2r entry, which open must fall back to.
   */
  private static byte[] wi2rFallback() throws IOException {
    byte[] img = differencing();
    ByteBuffer b = ByteBuffer.wrap(img);
    int entry = HEADER + 576;
    long data = b.getLong(entry + 16);
    byte[] missing = ".\\missing.vhd".getBytes(StandardCharsets.UTF_16LE);
    byte[] ansi = PARENT.getBytes(StandardCharsets.ISO_8859_1);
    Arrays.fill(img, (int) data, (int) data + 512, (byte) 0);
    System.arraycopy(missing, 0, img, (int) data, missing.length);
    System.arraycopy(ansi, 0, img, (int) data + 256, ansi.length);
    b.putInt(entry, 0x57327275).putInt(entry + 4, 256).putInt(entry + 8, missing.length)
        .putLong(entry + 16, data);
    b.putInt(entry + 24, 0x57693272).putInt(entry + 28, 256).putInt(entry + 32, ansi.length)
        .putLong(entry + 40, data + 256);
    // The header's own copy of the name would find the parent first otherwise.
    Arrays.fill(img, HEADER + 64, HEADER + 576, (byte) 0);
    seal(img, HEADER, 1024, 36);
    return img;
  }

  /** Small images with fields that must be refused or reported. */
  static List<Seed> invalid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    seeds.add(new Seed("invalid-vpc-huge-bat", header(twoBlocks(), 28, 0x7fffffff)));
    // qemu's iotest 088: block sizes 0, 2 GiB and not a power of two
    seeds.add(new Seed("invalid-vpc-block-size-0", header(twoBlocks(), 32, 0)));
    seeds.add(new Seed("invalid-vpc-block-size-2g", header(twoBlocks(), 32, 0x80000000)));
    seeds.add(new Seed("invalid-vpc-block-size-odd", header(twoBlocks(), 32, 0x12345678)));
    byte[] pastEnd = twoBlocks();
    ByteBuffer.wrap(pastEnd).putInt(BAT + 4, 0x00100000);
    seeds.add(new Seed("invalid-vpc-bat-entry-past-end", pastEnd));
    byte[] shared = twoBlocks();
    ByteBuffer.wrap(shared).putInt(BAT + 12, ByteBuffer.wrap(shared).getInt(BAT + 4));
    seeds.add(new Seed("invalid-vpc-shared-block", shared));
    byte[] overBat = twoBlocks();
    ByteBuffer.wrap(overBat).putInt(BAT + 4, BAT / 512);
    seeds.add(new Seed("invalid-vpc-block-over-bat", overBat));
    byte[] whole = twoBlocks();
    seeds.add(new Seed("invalid-vpc-cut-short", Arrays.copyOf(whole, whole.length - 700)));
    byte[] endDamaged = twoBlocks();
    endDamaged[endDamaged.length - 412] ^= 0x10;
    seeds.add(new Seed("invalid-vpc-end-footer-damaged", endDamaged));
    byte[] bothDamaged = endDamaged.clone();
    bothDamaged[100] ^= 0x10;
    seeds.add(new Seed("invalid-vpc-both-footers-damaged", bothDamaged));
    byte[] headerSum = twoBlocks();
    headerSum[HEADER + 900] ^= 0x01;
    seeds.add(new Seed("invalid-vpc-header-checksum", headerSum));
    byte[] leaked = twoBlocks();
    byte[] grown = new byte[leaked.length + 1024];
    System.arraycopy(leaked, 0, grown, 0, leaked.length - 512);
    System.arraycopy(leaked, leaked.length - 512, grown, grown.length - 512, 512);
    seeds.add(new Seed("invalid-vpc-leaked-block", grown));
    byte[] otherParent = differencing();
    ByteBuffer.wrap(otherParent).putLong(HEADER + 48, 42);
    seal(otherParent, HEADER, 1024, 36);
    seeds.add(new Seed("invalid-vpc-differencing-other-parent-id", otherParent));
    byte[] gone = differencing();
    int data = (int) ByteBuffer.wrap(gone).getLong(HEADER + 576 + 16);
    gone[data + 4] = (byte) 'x'; // ".\vpc-..." becomes ".\xpc-...": no such file
    byte[] nameBytes = new byte[512];
    System.arraycopy(nameBytes, 0, gone, HEADER + 64, 512);
    seal(gone, HEADER, 1024, 36);
    seeds.add(new Seed("invalid-vpc-differencing-missing-parent", gone));
    return seeds;
  }

  /** {@code img} with the header's u32 at {@code field} set to {@code value}, resealed. */
  private static byte[] header(byte[] img, int field, int value) {
    ByteBuffer.wrap(img).putInt(HEADER + field, value);
    seal(img, HEADER, 1024, 36);
    return img;
  }

  /** Stores the VHD checksum of {@code img[from, from+length)} at its {@code checksumAt}. */
  static void seal(byte[] img, int from, int length, int checksumAt) {
    long sum = 0;
    for (int i = 0; i < length; i++) {
      if (i < checksumAt || i >= checksumAt + 4) {
        sum += img[from + i] & 0xff;
      }
    }
    ByteBuffer.wrap(img).putInt(from + checksumAt, (int) ~sum);
  }
}
