package io.blockkit.verify.formats;

import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What the generic image fuzz harness ({@code io.blockkit.verify.fuzz.ImageFuzz}) needs to know
 * about a format beyond its driver. The fuzz test itself is one method, {@code
 * <Name>FuzzTest#<name>Image} in {@code io.blockkit.verify.fuzz} (for vdi: {@code
 * VdiFuzzTest#vdiImage}), whose committed seeds live in {@code <Name>FuzzTestInputs/<name>Image/}
 * next to it, where Jazzer looks for them.
 */
public interface FuzzTarget {
  /**
   * The probe score the driver must give {@code image}, worked out independently of the driver
   * from the format's signature (for vdi: 100 when the magic is at 0x40 of at least 512 bytes,
   * else 0).
   */
  int expectedProbeScore(byte[] image);

  /**
   * The image a stored input (a fuzz input's or a seed file's image part) stands for: by default
   * the bytes themselves. A format whose smallest image is far larger than a fuzz input can be
   * (a VHDX is over a megabyte; seeds stay under 8 KiB) stores its inputs folded and unfolds them
   * here, so mutations still reach every structure.
   */
  default byte[] unfold(byte[] stored) {
    return stored;
  }

  /** The stored form of {@code image}: the inverse of {@link #unfold}, for writing seeds. */
  default byte[] fold(byte[] image) {
    return image;
  }

  /** Small images the driver itself made, one per header version, type and feature. */
  List<Seed> validSeeds() throws IOException;

  /** Small images with fields that must be refused or reported, never crash. */
  List<Seed> invalidSeeds() throws IOException;

  /**
   * The most bytes one input may allocate (twice measured, see FuzzContract). Default: 64 MiB, so
   * that metadata sized from header fields must be bounded by the file and a write allocates at
   * most one cluster buffer, plus 1 KiB per input byte.
   */
  default long allocationBudget(int inputLength) {
    return (64L << 20) + 1024L * inputLength;
  }

  /** Facts every image that opens must show in its info, beyond size and format name. */
  default void assertInfo(ImageInfo info) {}

  /**
   * The smallest run block status may report, for formats that track allocation below their
   * cluster (VHD's sector bitmaps: 512); 0 (the default) means one extent per cluster at most.
   */
  default long statusGranule(ImageInfo info) {
    return 0;
  }

  /** The first host offset data may live at (block status host offsets must not be below it). */
  default long firstDataOffset(ImageInfo info) {
    return 0;
  }

  /**
   * The clusters (in units of {@code info.clusterSize()}) that check's messages name as damaged,
   * or empty when the format's messages name none; then every cluster counts as flagged whenever
   * the report has corruptions, and none otherwise.
   */
  default Optional<Set<Long>> flaggedClusters(CheckReport report) {
    return Optional.empty();
  }

  /**
   * Collects what the valid seeds cover, one opened seed at a time, and fails if a variant the
   * format reads is missing from the corpus (for vdi: every header version and image type,
   * block_extra, ZERO map entries). Default: no requirement.
   */
  default SeedCoverage coverage() {
    return new SeedCoverage() {
      @Override
      public void add(String name, byte[] image, ImageInfo info) {}

      @Override
      public void assertComplete() {}
    };
  }

  /** See {@link #coverage()}. */
  interface SeedCoverage {
    void add(String name, byte[] image, ImageInfo info);

    void assertComplete();
  }
}
