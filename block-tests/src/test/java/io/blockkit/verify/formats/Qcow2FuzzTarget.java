package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Mutated qcow2 images for the image fuzz harness; seeds from {@link Qcow2Seeds}. */
final class Qcow2FuzzTarget implements FuzzTarget {
  /** The magic QFI\xfb and a version of at least 2 in at least 512 bytes score 100. */
  @Override
  public int expectedProbeScore(byte[] image) {
    if (image.length < 512) {
      return 0;
    }
    ByteBuffer b = ByteBuffer.wrap(image);
    return b.getInt(0) == 0x514649fb && Integer.toUnsignedLong(b.getInt(4)) >= 2 ? 100 : 0;
  }

  @Override
  public List<Seed> validSeeds() throws IOException {
    return Qcow2Seeds.valid();
  }

  @Override
  public List<Seed> invalidSeeds() throws IOException {
    return Qcow2Seeds.invalid();
  }

  /** Clusters are powers of two from 512 bytes to 2 MiB. */
  @Override
  public void assertInfo(ImageInfo info) {
    long cs = info.clusterSize();
    assertTrue(cs >= 512 && cs <= (2 << 20) && Long.bitCount(cs) == 1, "cluster size " + cs);
  }

  /** Cluster 0 holds the header: no data lies there. */
  @Override
  public long firstDataOffset(ImageInfo info) {
    return info.clusterSize();
  }

  /**
   * Both versions, both compression types, 1-, 16- and 64-bit refcounts, compressed and zero
   * clusters, an internal snapshot, a persistent bitmap.
   */
  @Override
  public SeedCoverage coverage() {
    return new SeedCoverage() {
      final Set<String> seen = new HashSet<>();

      @Override
      public void add(String name, byte[] image, ImageInfo info) {
        Map<String, Object> f = info.formatSpecific();
        seen.add("compat " + f.get("compat"));
        seen.add("compression " + f.get("compression-type"));
        seen.add("refcount bits " + f.get("refcount-bits"));
        if (f.containsKey("bitmaps")) {
          seen.add("bitmaps");
        }
        ByteBuffer b = ByteBuffer.wrap(image);
        if (b.getInt(60) > 0) {
          seen.add("snapshots");
        }
        for (String feature : new String[] {"compressed", "zero"}) {
          if (name.contains(feature)) {
            seen.add(feature);
          }
        }
      }

      @Override
      public void assertComplete() {
        Set<String> want = Set.of("compat 0.10", "compat 1.1", "compression zlib",
            "compression zstd", "refcount bits 1", "refcount bits 16", "refcount bits 64",
            "bitmaps", "snapshots", "compressed", "zero");
        Set<String> missing = new HashSet<>(want);
        missing.removeAll(seen);
        assertTrue(missing.isEmpty(), "qcow2 seeds do not cover " + missing);
      }
    };
  }
}
