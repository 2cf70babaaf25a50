package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.verify.Images;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One way of creating images of a format: create options (without {@code size}), the cluster size
 * the suites aim their requests at (block boundaries, whole-cluster writes, per-cluster oracles),
 * and an optional tweak for what {@code create} cannot make.
 *
 * @param format the driver name
 * @param label what distinguishes the variant, for test names ({@code "512K blocks"})
 * @param options create options except {@code size}
 * @param clusterSize the format's allocation unit for these options; formats without one name the
 *     granularity the suites should use
 * @param tweak applied to a freshly created, empty image through its raw storage; null for none
 */
public record Variant(String format, String label, Map<String, String> options, long clusterSize,
    Tweak tweak) {
  /** A change to a new, empty image made through its raw bytes. */
  @FunctionalInterface
  public interface Tweak {
    void apply(BlockDevice rawStorage) throws IOException;
  }

  public Variant {
    options = Map.copyOf(options);
    if (options.containsKey("size")) {
      throw new IllegalArgumentException("size is chosen by each suite, not by the variant");
    }
    if (clusterSize < 512 || Long.bitCount(clusterSize) != 1) {
      throw new IllegalArgumentException("cluster size " + clusterSize + " of " + label);
    }
  }

  public static Variant of(String format, String label, long clusterSize,
      Map<String, String> options) {
    return new Variant(format, label, options, clusterSize, null);
  }

  /** This variant with {@code tweak} applied after create, its label extended by {@code what}. */
  public Variant tweaked(String what, Tweak tweak) {
    return new Variant(format, label + ", " + what, options, clusterSize, tweak);
  }

  /** Creates an image of {@code size} bytes at {@code location} (any protocol), tweak included. */
  public void create(String location, long size) throws IOException {
    Map<String, String> o = new LinkedHashMap<>(options);
    o.put("size", Long.toString(size));
    Images.create(location, format, o);
    if (tweak != null) {
      try (BlockDevice raw = Images.open(location, "raw", false)) {
        tweak.apply(raw);
      }
    }
  }

  @Override
  public String toString() {
    return format + " " + label;
  }
}
