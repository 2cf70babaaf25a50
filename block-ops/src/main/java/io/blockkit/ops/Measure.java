package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.Measurement;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How much storage a new image needs: {@code qemu-img measure}.
 *
 * <pre>{@code
 * Measurement m = Measure.format("vdi").source(image).run(registry);
 * Measurement empty = Measure.format("raw").size(1L << 30).run(registry);
 * }</pre>
 *
 * <p>The format's driver answers ({@link BlockDriver#measure}), for an image of a given size or
 * for a copy of an existing image (what {@link Convert} would write, its chain flattened).
 */
public final class Measure {
  private final String format;
  private Map<String, String> options = Map.of();
  private Long size;
  private BlockDevice source;

  private Measure(String format) {
    this.format = Objects.requireNonNull(format, "format");
  }

  /** A measurement for a new image of {@code format}. */
  public static Measure format(String format) {
    return new Measure(format);
  }

  /** The new image's create options. */
  public Measure options(Map<String, String> options) {
    this.options = Map.copyOf(options);
    return this;
  }

  /** An empty image of this virtual size (instead of {@link #source}). */
  public Measure size(long bytes) {
    this.size = bytes;
    return this;
  }

  /** A copy of this open image (instead of {@link #size}). */
  public Measure source(BlockDevice image) {
    this.source = Objects.requireNonNull(image, "image");
    return this;
  }

  /**
   * Measures.
   *
   * @throws UnsupportedFeatureException when the format cannot measure
   * @throws io.blockkit.api.error.InvalidOptionException for bad options
   * @throws IllegalStateException unless exactly one of a size and a source was given
   */
  public Measurement run(BlockRegistry registry) throws IOException {
    if ((size == null) == (source == null)) {
      throw new IllegalStateException("give either a size or a source");
    }
    BlockDriver drv = registry.driver(format);
    if (!drv.features().contains(DriverFeature.MEASURE)) {
      throw new UnsupportedFeatureException("Block driver '" + drv.name()
          + "' does not support size measurement");
    }
    Map<String, String> opts = new LinkedHashMap<>(options);
    if (size != null) {
      opts.put("size", Long.toString(size));
    }
    return drv.measure(Options.of(opts, drv.createOptions()), source);
  }
}
