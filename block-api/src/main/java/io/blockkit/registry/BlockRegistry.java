package io.blockkit.registry;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.NoSuchDriverException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The set of known drivers, and the qemu-like logic that stacks them: a plain path opens through
 * the {@code file} protocol, a {@code proto:} prefix picks another protocol, the format is probed
 * from the image's head and tail unless named, and a format's backing chain opens above it.
 *
 * <p>This class is the entry point; lookup lives here, probing in {@link Prober}, stacking in
 * {@link StackOpener}, backing chains in {@link LinkedImages}, creation in {@link ImageCreator},
 * plugin loading in {@link DriverLoader}.
 *
 * <p>Immutable and thread-safe.
 */
public final class BlockRegistry {
  /** The protocol used for plain paths. */
  public static final String DEFAULT_PROTOCOL = "file";
  /** The format that probes with the last-resort score and gets write restrictions when guessed. */
  public static final String RAW = "raw";

  private final Map<String, BlockDriver> drivers;
  /** Every name a driver answers to, its aliases included. */
  private final Map<String, BlockDriver> named;
  private final Prober prober;
  private final StackOpener opener;
  private final ImageCreator creator;

  private BlockRegistry(Map<String, BlockDriver> drivers, Map<String, BlockDriver> named) {
    this.drivers = drivers;
    this.named = named;
    this.prober = new Prober(drivers);
    this.opener = new StackOpener(this, prober);
    this.creator = new ImageCreator(this, opener);
  }

  /**
   * Drivers visible to the class loader that loaded blockkit's API.
   *
   * @throws BlockException when a provider cannot be loaded or two drivers share a name
   */
  public static BlockRegistry load() throws BlockException {
    return load(BlockDriver.class.getClassLoader());
  }

  /**
   * Drivers visible to {@code loader}; a provider that cannot be loaded is an error.
   *
   * @throws BlockException when a provider cannot be loaded or two drivers share a name
   */
  public static BlockRegistry load(ClassLoader loader) throws BlockException {
    return of(DriverLoader.builtIn(loader));
  }

  /**
   * The drivers {@code loader} sees plus those of each plugin jar or folder, each on a class loader
   * of its own below {@code loader}. A plugin that cannot be loaded, or that declares a driver name
   * already taken, is skipped with one warning naming it; the others keep working.
   *
   * @throws BlockException when a provider {@code loader} sees cannot be loaded or two of them share a name (plugins are skipped with a warning instead)
   */
  public static BlockRegistry load(ClassLoader loader, List<URL> plugins,
      Consumer<String> warnings) throws BlockException {
    List<BlockDriver> builtIn = DriverLoader.builtIn(loader);
    List<BlockDriver> all = new ArrayList<>(builtIn);
    for (URL jar : plugins) {
      List<BlockDriver> found = DriverLoader.plugin(jar, loader, builtIn, warnings);
      List<String> clash = found.stream().flatMap(d -> namesOf(d).stream())
          .filter(n -> all.stream().anyMatch(d -> namesOf(d).contains(n))).toList();
      if (clash.isEmpty()) {
        all.addAll(found);
      } else {
        warnings.accept("WARNING: skipping plugin '" + jar.getPath() + "': driver name "
            + String.join(", ", clash) + " is already taken");
      }
    }
    return of(all);
  }

  /**
   * A registry of exactly these drivers (tests, embedding applications).
   *
   * @throws BlockException when two drivers share a name or alias
   */
  public static BlockRegistry of(BlockDriver... drivers) throws BlockException {
    return of(List.of(drivers));
  }

  public static BlockRegistry of(Collection<? extends BlockDriver> list) throws BlockException {
    Map<String, BlockDriver> byName = new TreeMap<>();
    Map<String, BlockDriver> named = new TreeMap<>();
    for (BlockDriver d : list) {
      byName.put(d.name(), d);
      for (String n : namesOf(d)) {
        BlockDriver prev = named.putIfAbsent(n, d);
        if (prev != null) {
          throw new BlockException("Two drivers are named '" + n + "': "
              + prev.getClass().getName() + " and " + d.getClass().getName());
        }
      }
    }
    return new BlockRegistry(Collections.unmodifiableMap(byName),
        Collections.unmodifiableMap(named));
  }

  private static List<String> namesOf(BlockDriver d) {
    List<String> names = new ArrayList<>(List.of(d.name()));
    names.addAll(d.aliases());
    return names;
  }

  /** All drivers, sorted by name. */
  public Collection<BlockDriver> drivers() {
    return drivers.values();
  }

  /** The driver with this name or alias. */
  public Optional<BlockDriver> find(String name) {
    return Optional.ofNullable(named.get(name));
  }

  /**
   * The driver named {@code name}, or {@link NoSuchDriverException} listing the available names.
   *
   * @throws NoSuchDriverException when no driver has that name or alias
   */
  public BlockDriver driver(String name) throws NoSuchDriverException {
    BlockDriver d = named.get(name);
    if (d == null) {
      throw new NoSuchDriverException(name, drivers.keySet());
    }
    return d;
  }

  /**
   * A driver of the given kind, or {@link NoSuchDriverException} naming the drivers of that kind.
   *
   * @throws NoSuchDriverException when no driver of that kind has that name
   */
  public BlockDriver driver(String name, DriverKind kind) throws NoSuchDriverException {
    BlockDriver d = named.get(name);
    if (d == null || d.kind() != kind) {
      throw new NoSuchDriverException(name,
          drivers.values().stream().filter(x -> x.kind() == kind).map(BlockDriver::name).toList());
    }
    return d;
  }

  /**
   * Asks every FORMAT driver about {@code input}; the highest score wins, ties broken by name. A
   * driver that throws despite the contract scores 0. When nothing scores above raw's last resort,
   * the result also names a {@link KnownFormats known format} without a driver that the bytes carry.
   */
  public ProbeResult probe(ProbeInput input) {
    return prober.probe(input);
  }

  /**
   * Reads the probe bytes of an open node: its head and, when the head is not all of it, its tail.
   *
   * @throws IOException when reading the node fails
   */
  public static ProbeInput probeInput(BlockDevice dev, String fileName) throws IOException {
    return Prober.input(dev, fileName);
  }

  /**
   * Splits {@code proto:rest} when {@code proto} names a protocol driver; else the default protocol.
   *
   * @throws NoSuchDriverException when the prefix is not a protocol's and no default protocol is installed
   */
  public Location parseLocation(String filename) throws NoSuchDriverException {
    int colon = filename.indexOf(':');
    if (colon > 0) {
      BlockDriver d = named.get(filename.substring(0, colon));
      if (d != null && d.kind() == DriverKind.PROTOCOL) {
        return new Location(d, filename.substring(colon + 1));
      }
    }
    return new Location(driver(DEFAULT_PROTOCOL, DriverKind.PROTOCOL), filename);
  }

  /** A protocol driver and what it opens. */
  public record Location(BlockDriver protocol, String path) {
    /** The last path element, for probing hints. */
    public String fileName() {
      return BlockRegistry.fileName(path);
    }
  }

  static String fileName(String path) {
    try {
      Path p = Path.of(path).getFileName();
      return p == null ? path : p.toString();
    } catch (RuntimeException e) {
      return path;
    }
  }

  /**
   * Opens {@code filename} as qemu-img does; see the class comment. {@code params.options()} may
   * hold {@code backing.*} options (or {@code backing=null}) for the backing image.
   *
   * @throws io.blockkit.api.error.UnknownFormatException when no driver claims the image
   * @throws io.blockkit.api.error.MissingDriverException when the image is a known format without an installed driver
   * @throws io.blockkit.api.error.NoSuchDriverException when a named driver is not installed
   * @throws io.blockkit.api.error.BackingChainException when the backing chain cannot be opened
   * @throws IOException when a driver fails to open its node; nodes already open are closed
   */
  public BlockDevice open(String filename, OpenParams params) throws IOException {
    Objects.requireNonNull(filename, "filename");
    Map<String, String> opts = new LinkedHashMap<>(params.options());
    opts.put("filename", filename);
    if (params.format() != null) {
      opts.put("driver", params.format());
    }
    return opener.openNode(opts, params, true, List.of());
  }

  /**
   * Opens a stack described by flat qemu-style options, e.g. {@code
   * driver=vdi,file.driver=blkdebug,file.file.filename=x.vdi}. Without {@code driver}, the format
   * is probed.
   *
   * @throws io.blockkit.api.error.InvalidOptionException for an option no node takes
   * @throws IOException as {@link #open(String, OpenParams)}
   */
  public BlockDevice open(Map<String, String> options, OpenParams params) throws IOException {
    Map<String, String> opts = new LinkedHashMap<>(params.options());
    opts.putAll(options);
    if (params.format() != null) {
      opts.putIfAbsent("driver", params.format());
    }
    return opener.openNode(opts, params, true, List.of());
  }

  /**
   * Creates an image: the protocol makes empty storage, then the format (if it is not a protocol
   * itself) writes its structures. If formatting fails, the storage is deleted again.
   *
   * @param filename a path or {@code proto:name}
   * @param format a FORMAT or PROTOCOL driver name
   * @param options the format's create options as {@code key=value} pairs ({@code size} included;
   *     {@code backing_file} for formats with backing files, opened read-only to read its size)
   * @throws io.blockkit.api.error.UnsupportedFeatureException when the driver cannot create images
   *     or have backing files, before any option is parsed
   */
  public void create(String filename, String format, Map<String, String> options)
      throws IOException {
    create(filename, format, options, OpenParams.defaults());
  }

  /**
   * As {@link #create(String, String, Map)}, opening a backing image with {@code params}.
   *
   * @return the further files the format made beside the image (a multi-file VMDK's extents),
   *     which a caller that abandons the new image must delete along with it; empty for
   *     single-file formats. A create that fails deletes them itself.
   * @throws IOException when the image cannot be created; nothing it made is left behind
   */
  public List<Location> create(String filename, String format, Map<String, String> options,
      OpenParams params) throws IOException {
    return creator.create(filename, format, options, params);
  }

  /**
   * The create options of {@code format}, for {@code -o help}.
   *
   * @throws NoSuchDriverException when no driver has that name
   */
  public List<OptionSpec> createOptions(String format) throws NoSuchDriverException {
    return driver(format).createOptions();
  }
}
