package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Creates an image: {@code qemu-img create}.
 *
 * <pre>{@code
 * Create.image("disk.vdi").format("vdi").size(64L << 20).run(registry);
 * Create.image("overlay.vdi").format("vdi").backing("disk.vdi", "vdi").run(registry);
 * }</pre>
 *
 * <p>The image appears under its name only when complete. Where the protocol can stage (plain
 * files), it is built under a hidden name beside the target ({@code .NAME.blockkit-RANDOM.tmp})
 * and renamed into place when complete and flushed, so that a failure, a {@link Cancellation} or
 * even a crash leaves either no image (or the file that was there before, untouched) or the
 * complete new one; a crash may leave the hidden file, which nothing uses. An existing image is
 * replaced, as qemu-img replaces it, but it is opened for writing first, so that an image another
 * program holds (a running VM) is refused before any work. Elsewhere ({@code memory:}, plugins
 * without staging) the image is created in place and deleted again on failure unless it existed
 * before.
 */
public final class Create {
  /** The create option naming a backing file, as qemu's formats call it. */
  public static final String BACKING_FILE = "backing_file";
  /** The create option naming the backing file's format. */
  public static final String BACKING_FORMAT = "backing_fmt";

  private final String name;
  private String format = "raw";
  private Long size;
  private Map<String, String> options = Map.of();
  private String backing;
  private String backingFormat;
  private Cancellation cancel = new Cancellation();
  private Consumer<String> warnings = System.err::println;

  private Create(String name) {
    this.name = Objects.requireNonNull(name, "name");
  }

  /** A new image at {@code name}: a path or {@code proto:name}. */
  public static Create image(String name) {
    return new Create(name);
  }

  public Create format(String format) {
    this.format = Objects.requireNonNull(format, "format");
    return this;
  }

  /** The virtual size; without it, the {@code size} option or the backing file's size. */
  public Create size(long bytes) {
    this.size = bytes;
    return this;
  }

  /** The format's create options, as {@code key=value} pairs. */
  public Create options(Map<String, String> options) {
    this.options = Map.copyOf(options);
    return this;
  }

  /**
   * A backing file: {@code name} is stored as given and resolved against the new image's folder
   * unless absolute; {@code format} (null: probed) is stored with it. The backing must exist; its
   * size is the image's size unless one is given.
   */
  public Create backing(String name, String format) {
    this.backing = Objects.requireNonNull(name, "name");
    this.backingFormat = format;
    return this;
  }

  public Create cancellation(Cancellation token) {
    this.cancel = Objects.requireNonNull(token, "token");
    return this;
  }

  /** Where warnings go (a backing probed as raw, a clean-up that failed); default stderr. */
  public Create warnings(Consumer<String> sink) {
    this.warnings = Objects.requireNonNull(sink, "sink");
    return this;
  }

  /**
   * The options the image will be created with, checked against the format's: the given ones,
   * {@code size}, and the backing file (whose size is read when none is given). Callers that
   * print what they create (qemu-img's "Formatting" line) describe these.
   *
   * @throws UnsupportedFeatureException when the format cannot create images or have backing
   *     files
   * @throws InvalidOptionException for unknown or malformed options, or a missing size
   * @throws io.blockkit.api.error.BackingChainException when the backing cannot be opened
   */
  public Options checkedOptions(BlockRegistry registry) throws IOException {
    BlockDriver drv = registry.driver(format);
    if (drv.kind() == DriverKind.FILTER) {
      throw new UnsupportedFeatureException("Driver '" + format + "' is a filter driver and "
          + "cannot create images");
    }
    require(drv, DriverFeature.CREATE);
    Map<String, String> opts = rawOptions();
    if (opts.containsKey(BACKING_FORMAT) && !opts.containsKey(BACKING_FILE)) {
      throw new InvalidOptionException("Backing format cannot be used without backing file");
    }
    if (opts.containsKey(BACKING_FILE)) {
      require(drv, DriverFeature.BACKING);
      if (!opts.containsKey("size")) {
        try (BlockDevice b = BackingNames.open(registry, name, opts.get(BACKING_FILE),
            opts.get(BACKING_FORMAT), params())) {
          opts.put("size", Long.toString(b.size()));
        }
      }
    }
    boolean takesSize = drv.createOptions().stream().anyMatch(s -> s.name().equals("size"));
    if (takesSize && !opts.containsKey("size") && drv.createOptions().stream()
        .noneMatch(s -> s.name().equals("size") && s.defaultValue() != null)) {
      throw new InvalidOptionException("Image creation needs a size parameter");
    }
    return Options.of(opts, drv.createOptions());
  }

  /**
   * Creates the image.
   *
   * @throws CancelledException when the token was tripped (nothing is left behind)
   * @throws IOException as {@link #checkedOptions}, or when the storage cannot be made
   */
  public void run(BlockRegistry registry) throws IOException {
    Options checked = checkedOptions(registry);
    Map<String, String> opts = rawOptions();
    checked.get("size").ifPresent(s -> opts.put("size", s.toString()));
    try (StagedImage image = StagedImage.create(registry, name, format, opts, params(),
        cancel)) {
      image.commit();
    }
  }

  private Map<String, String> rawOptions() {
    Map<String, String> opts = new LinkedHashMap<>(options);
    if (size != null) {
      opts.put("size", Long.toString(size));
    }
    if (backing != null) {
      opts.put(BACKING_FILE, backing);
      if (backingFormat != null) {
        opts.put(BACKING_FORMAT, backingFormat);
      }
    }
    return opts;
  }

  private OpenParams params() {
    return OpenParams.defaults().withWarnings(warnings);
  }

  private static void require(BlockDriver drv, DriverFeature f)
      throws UnsupportedFeatureException {
    if (!drv.features().contains(f)) {
      throw new UnsupportedFeatureException("Driver '" + drv.name() + "' does not support "
          + f.noun());
    }
  }
}
