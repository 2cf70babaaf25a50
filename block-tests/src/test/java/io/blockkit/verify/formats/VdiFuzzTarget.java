package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Mutated VDI images for the image fuzz harness; seeds from {@link VdiSeeds}. */
final class VdiFuzzTarget implements FuzzTarget {
  private static final Pattern FLAGGED = Pattern.compile("^ERROR: block (\\d+):");

  /** The signature 0xbeda107f at 0x40 of an image of at least 512 bytes scores 100. */
  @Override
  public int expectedProbeScore(byte[] image) {
    return image.length >= 512 && ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN)
        .getInt(0x40) == 0xbeda107f ? 100 : 0;
  }

  @Override
  public List<Seed> validSeeds() throws IOException {
    return VdiSeeds.valid();
  }

  @Override
  public List<Seed> invalidSeeds() throws IOException {
    return VdiSeeds.invalid();
  }

  /** Blocks are powers of two from 512 bytes, the disk a whole number of sectors. */
  @Override
  public void assertInfo(ImageInfo info) {
    long blockSize = info.clusterSize();
    assertTrue(blockSize >= 512 && Long.bitCount(blockSize) == 1, "block size " + blockSize);
    long size = info.virtualSize();
    assertTrue(size > 0 && size % 512 == 0, "virtual size " + size);
  }

  @Override
  public long firstDataOffset(ImageInfo info) {
    return ((Number) info.formatSpecific().get("data-offset")).longValue();
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

  /** Every header version and image type, block_extra, and a ZERO block map entry. */
  @Override
  public SeedCoverage coverage() {
    return new SeedCoverage() {
      final Set<String> versions = new HashSet<>();
      final Set<String> types = new HashSet<>();
      boolean blockExtra;
      boolean zeroEntry;

      @Override
      public void add(String name, byte[] image, ImageInfo info) {
        Map<String, Object> fields = info.formatSpecific();
        versions.add(fields.get("version") + "/" + fields.get("header-size"));
        types.add((String) fields.get("type"));
        blockExtra |= ((Number) fields.get("block-extra")).longValue() > 0;
        zeroEntry |= hasZeroEntry(image, ((Number) fields.get("block-map-offset")).intValue(),
            ((Number) fields.get("blocks")).intValue());
      }

      @Override
      public void assertComplete() {
        assertEquals(Set.of("0.2/348", "1.1/384", "1.1/400"), versions,
            "header versions covered");
        assertEquals(Set.of("dynamic", "fixed", "undo", "differencing"), types,
            "types covered");
        assertTrue(blockExtra, "no seed has block_extra");
        assertTrue(zeroEntry, "no seed has a ZERO block map entry");
      }
    };
  }

  private static boolean hasZeroEntry(byte[] image, int mapOffset, int blocks) {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < blocks; i++) {
      if (b.getInt(mapOffset + 4 * i) == 0xfffffffe) {
        return true;
      }
    }
    return false;
  }
}
