package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Mutated VHDX images for the image fuzz harness; seeds from {@link VhdxSeeds}. A VHDX keeps its
 * regions at 1 MiB and beyond, so inputs are {@link FoldedImage folded}: an image of up to 16 MiB
 * in a few kilobytes.
 */
final class VhdxFuzzTarget implements FuzzTarget {
  /** The largest image an input unfolds to: the header section, log, BAT, metadata, 12 blocks. */
  static final int MAX_IMAGE = 16 << 20;
  private static final Pattern FLAGGED = Pattern.compile("^ERROR: block (\\d+):");
  private static final byte[] SIGNATURE = "vhdxfile".getBytes(StandardCharsets.US_ASCII);

  /** "vhdxfile" at 0 of an image long enough to hold the first header (68 KiB) scores 100. */
  @Override
  public int expectedProbeScore(byte[] image) {
    return image.length >= 68 * 1024
        && Arrays.equals(image, 0, 8, SIGNATURE, 0, 8) ? 100 : 0;
  }

  @Override
  public byte[] unfold(byte[] stored) {
    return FoldedImage.unfold(stored, MAX_IMAGE);
  }

  @Override
  public byte[] fold(byte[] image) {
    return FoldedImage.fold(image);
  }

  @Override
  public List<Seed> validSeeds() throws IOException {
    return VhdxSeeds.valid();
  }

  @Override
  public List<Seed> invalidSeeds() throws IOException {
    return VhdxSeeds.invalid();
  }

  /** An unfolded image and the copies the harness makes of it, besides the usual budget. */
  @Override
  public long allocationBudget(int inputLength) {
    return (64L << 20) + 4L * MAX_IMAGE + 1024L * inputLength;
  }

  /** Blocks are powers of two from 1 MiB to 256 MiB, the disk whole logical sectors. */
  @Override
  public void assertInfo(ImageInfo info) {
    long blockSize = info.clusterSize();
    assertTrue(blockSize >= (1 << 20) && blockSize <= (256 << 20)
        && Long.bitCount(blockSize) == 1, "block size " + blockSize);
    long sector = ((Number) info.formatSpecific().get("logical-sector-size")).longValue();
    assertTrue(sector == 512 || sector == 4096, "logical sector size " + sector);
    assertEquals(0, info.virtualSize() % sector, "virtual size " + info.virtualSize());
  }

  /** Data lives after the 1 MiB header section. */
  @Override
  public long firstDataOffset(ImageInfo info) {
    return 1 << 20;
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

  /** Dynamic and fixed images, both sector sizes, ZERO and NOT_PRESENT blocks, a dirty log. */
  @Override
  public SeedCoverage coverage() {
    return new SeedCoverage() {
      final Set<String> types = new HashSet<>();
      final Set<Long> sectors = new HashSet<>();
      boolean dirtyLog;

      @Override
      public void add(String name, byte[] image, ImageInfo info) {
        Map<String, Object> f = info.formatSpecific();
        types.add((String) f.get("type"));
        sectors.add(((Number) f.get("logical-sector-size")).longValue());
        dirtyLog |= info.dirty();
      }

      @Override
      public void assertComplete() {
        assertEquals(Set.of("dynamic", "fixed"), types, "types covered");
        assertEquals(Set.of(512L, 4096L), sectors, "logical sector sizes covered");
        assertTrue(dirtyLog, "no seed has a log to replay");
      }
    };
  }
}
