package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Mutated VHD images for the image fuzz harness; seeds from {@link VpcSeeds}, whose differencing
 * images find their parent in memory (made when the target is).
 */
final class VpcFuzzTarget implements FuzzTarget {
  private static final Pattern FLAGGED = Pattern.compile("^ERROR: block (\\d+):");

  VpcFuzzTarget() {
    try {
      VpcSeeds.ensureParent();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * 100 when a whole sector starts with "conectix" (a dynamic or differencing image, as qemu
   * probes), or when the last 512 bytes are a fixed disk's footer: the cookie, the checksum, type
   * 2 and a current size of exactly the bytes before it; else 0.
   */
  @Override
  public int expectedProbeScore(byte[] image) {
    if (image.length >= 512 && new String(image, 0, 8, StandardCharsets.ISO_8859_1)
        .equals("conectix")) {
      return 100;
    }
    if (image.length < 512) {
      return 0;
    }
    int f = image.length - 512;
    ByteBuffer b = ByteBuffer.wrap(image);
    long sum = 0;
    for (int i = 0; i < 512; i++) {
      if (i < 64 || i >= 68) {
        sum += image[f + i] & 0xff;
      }
    }
    boolean footer = new String(image, f, 8, StandardCharsets.ISO_8859_1).equals("conectix")
        && Integer.toUnsignedLong(b.getInt(f + 64)) == (~sum & 0xffffffffL)
        && b.getInt(f + 60) == 2 && b.getLong(f + 48) == f;
    return footer ? 100 : 0;
  }

  @Override
  public List<Seed> validSeeds() throws IOException {
    return VpcSeeds.valid();
  }

  @Override
  public List<Seed> invalidSeeds() throws IOException {
    return VpcSeeds.invalid();
  }

  /** Sizes are whole sectors; blocks are powers of two from 512 bytes (none for fixed disks). */
  @Override
  public void assertInfo(ImageInfo info) {
    long block = info.clusterSize();
    assertTrue(block == 0 || block >= 512 && Long.bitCount(block) == 1, "block size " + block);
    assertEquals(0, info.virtualSize() % 512, "virtual size " + info.virtualSize());
  }

  /** Sector bitmaps: block status reports runs of sectors. */
  @Override
  public long statusGranule(ImageInfo info) {
    return 512;
  }

  /** Blocks named by check's corruption messages ("ERROR: block N: ..."). */
  @Override
  public Optional<Set<Long>> flaggedClusters(CheckReport report) {
    Set<Long> out = new HashSet<>();
    for (String m : report.messages()) {
      Matcher matcher = FLAGGED.matcher(m);
      if (matcher.find()) {
        out.add(Long.parseLong(matcher.group(1)));
      }
    }
    return Optional.of(out);
  }

  /** Every disk type and size rule, a partly written block, and the locator fallback. */
  @Override
  public SeedCoverage coverage() {
    return new SeedCoverage() {
      final Set<String> types = new HashSet<>();
      final Set<String> creators = new HashSet<>();
      boolean partialBitmap;
      boolean fallback;

      @Override
      public void add(String name, byte[] image, ImageInfo info) {
        Map<String, Object> fields = info.formatSpecific();
        types.add((String) fields.get("type"));
        creators.add(fields.get("creator-application") + "/" + fields.get("size-from"));
        partialBitmap |= hasPartialBitmap(image, info);
        Object locators = fields.get("parent-locators");
        fallback |= locators != null && locators.toString().contains("(Wi2r)");
      }

      @Override
      public void assertComplete() {
        assertEquals(Set.of("fixed", "dynamic", "differencing"), types, "types covered");
        assertTrue(creators.containsAll(Set.of("qemu/chs", "qem2/current_size",
            "win/current_size")), "creators and size rules covered: " + creators);
        assertTrue(partialBitmap, "no seed has a block with some sectors present, some not");
        assertTrue(fallback, "no seed falls back from a missing W2ru name to another locator");
      }
    };
  }

  /** A block whose bitmap has set and clear bits among the sectors of the disk. */
  private static boolean hasPartialBitmap(byte[] image, ImageInfo info) {
    if (info.clusterSize() == 0) {
      return false;
    }
    ByteBuffer b = ByteBuffer.wrap(image);
    long bat = ((Number) info.formatSpecific().get("bat-offset")).longValue();
    long entries = info.virtualSize() / info.clusterSize();
    int sectors = (int) (info.clusterSize() / 512);
    for (int i = 0; i < entries; i++) {
      int e = b.getInt((int) bat + 4 * i);
      if (e == -1) {
        continue;
      }
      int at = e * 512;
      int set = 0;
      for (int s = 0; s < sectors; s++) {
        if ((image[at + s / 8] & (0x80 >>> (s % 8))) != 0) {
          set++;
        }
      }
      if (set > 0 && set < sectors) {
        return true;
      }
    }
    return false;
  }
}
