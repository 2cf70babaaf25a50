package io.blockkit.registry;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverKind;
import io.blockkit.api.FormatProber;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.MissingDriverException;
import io.blockkit.api.error.NoSuchDriverException;
import io.blockkit.api.error.UnknownFormatException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The set of known drivers, and the qemu-like logic that stacks them: a plain path opens through
 * the {@code file} protocol, a {@code proto:} prefix picks another protocol, and the format is
 * probed from the first {@link BlockDriver#PROBE_SIZE} bytes unless named.
 *
 * <p>Immutable and thread-safe.
 */
public final class BlockRegistry {
  /** The protocol used for plain paths. */
  public static final String DEFAULT_PROTOCOL = "file";
  /** The format that probes with the last-resort score and gets write restrictions when guessed. */
  public static final String RAW = "raw";

  private final Map<String, BlockDriver> drivers;

  private BlockRegistry(Map<String, BlockDriver> drivers) {
    this.drivers = drivers;
  }

  /** Drivers visible to the class loader that loaded blockkit's API. */
  public static BlockRegistry load() throws BlockException {
    return load(BlockDriver.class.getClassLoader());
  }

  /** Drivers visible to {@code loader} (for plugin folders). */
  public static BlockRegistry load(ClassLoader loader) throws BlockException {
    List<BlockDriver> found = new ArrayList<>();
    try {
      for (BlockDriver d : ServiceLoader.load(BlockDriver.class, loader)) {
        found.add(d);
      }
    } catch (java.util.ServiceConfigurationError e) {
      throw new BlockException("Could not load a block driver: " + e.getMessage(), e);
    }
    return of(found);
  }

  /** A registry of exactly these drivers (tests, embedding applications). */
  public static BlockRegistry of(BlockDriver... drivers) throws BlockException {
    return of(List.of(drivers));
  }

  public static BlockRegistry of(Collection<? extends BlockDriver> list) throws BlockException {
    Map<String, BlockDriver> byName = new TreeMap<>();
    for (BlockDriver d : list) {
      BlockDriver prev = byName.putIfAbsent(d.name(), d);
      if (prev != null) {
        throw new BlockException("Two drivers are named '" + d.name() + "': "
            + prev.getClass().getName() + " and " + d.getClass().getName());
      }
    }
    return new BlockRegistry(java.util.Collections.unmodifiableMap(byName));
  }

  /** All drivers, sorted by name. */
  public Collection<BlockDriver> drivers() {
    return drivers.values();
  }

  public Optional<BlockDriver> find(String name) {
    return Optional.ofNullable(drivers.get(name));
  }

  /** The driver named {@code name}, or {@link NoSuchDriverException} listing the available names. */
  public BlockDriver driver(String name) throws NoSuchDriverException {
    BlockDriver d = drivers.get(name);
    if (d == null) {
      throw new NoSuchDriverException(name, drivers.keySet());
    }
    return d;
  }

  /** A driver of the given kind, or {@link NoSuchDriverException} naming the drivers of that kind. */
  public BlockDriver driver(String name, DriverKind kind) throws NoSuchDriverException {
    BlockDriver d = drivers.get(name);
    if (d == null || d.kind() != kind) {
      throw new NoSuchDriverException(name, names(kind));
    }
    return d;
  }

  private List<String> names(DriverKind kind) {
    return drivers.values().stream().filter(d -> d.kind() == kind).map(BlockDriver::name).toList();
  }

  /**
   * Asks every FORMAT driver about {@code input}; the highest score wins, ties broken by name. A
   * driver that throws despite the contract scores 0. When nothing scores above raw's last resort,
   * the result also names a {@link KnownFormats known format} without a driver that the bytes carry.
   */
  public ProbeResult probe(ProbeInput input) {
    Map<String, Integer> scores = new LinkedHashMap<>();
    for (BlockDriver d : drivers.values()) {
      if (d.kind() == DriverKind.FORMAT) {
        int s;
        try {
          s = Math.max(0, Math.min(100, d.probe(input)));
        } catch (RuntimeException e) {
          s = 0;
        }
        scores.put(d.name(), s);
      }
    }
    List<Map.Entry<String, Integer>> sorted = new ArrayList<>(scores.entrySet());
    sorted.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
        .thenComparing(Map.Entry.comparingByKey()));
    Map<String, Integer> ordered = new LinkedHashMap<>();
    sorted.forEach(e -> ordered.put(e.getKey(), e.getValue()));
    String winner = sorted.isEmpty() || sorted.get(0).getValue() == 0 ? null
        : sorted.get(0).getKey();
    KnownFormats.Signature recognised = null;
    if (sorted.isEmpty() || sorted.get(0).getValue() <= BlockDriver.PROBE_LAST_RESORT) {
      recognised = KnownFormats.recognise(input, scores.keySet()).orElse(null);
    }
    return new ProbeResult(winner, ordered, recognised);
  }

  /** Splits {@code proto:rest} when {@code proto} names a protocol driver; else the default protocol. */
  public Location parseLocation(String filename) throws NoSuchDriverException {
    int colon = filename.indexOf(':');
    if (colon > 0) {
      String proto = filename.substring(0, colon);
      BlockDriver d = drivers.get(proto);
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
      try {
        Path p = Path.of(path).getFileName();
        return p == null ? path : p.toString();
      } catch (RuntimeException e) {
        return path;
      }
    }
  }

  /** Opens {@code filename} as qemu-img does; see the class comment. */
  public BlockDevice open(String filename, OpenParams params) throws IOException {
    Objects.requireNonNull(filename, "filename");
    Map<String, String> opts = new LinkedHashMap<>(params.options());
    opts.put("filename", filename);
    if (params.format() != null) {
      opts.put("driver", params.format());
    }
    return openNode(opts, params, true);
  }

  /**
   * Opens a stack described by flat qemu-style options, e.g. {@code
   * driver=vdi,file.driver=blkdebug,file.file.filename=x.vdi}. Without {@code driver}, the format
   * is probed.
   */
  public BlockDevice open(Map<String, String> options, OpenParams params) throws IOException {
    Map<String, String> opts = new LinkedHashMap<>(params.options());
    opts.putAll(options);
    if (params.format() != null) {
      opts.putIfAbsent("driver", params.format());
    }
    return openNode(opts, params, true);
  }

  private BlockDevice openNode(Map<String, String> opts, OpenParams params, boolean top)
      throws IOException {
    String driverName = opts.get("driver");
    String filename = opts.get("filename");
    Map<String, String> own = new LinkedHashMap<>();
    Map<String, String> childOpts = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : opts.entrySet()) {
      String k = e.getKey();
      if (k.startsWith("file.")) {
        childOpts.put(k.substring(5), e.getValue());
      } else if (!k.equals("driver") && !k.equals("filename")) {
        own.put(k, e.getValue());
      }
    }
    if (driverName == null) {
      if (top && (childOpts.containsKey("driver") || childOpts.containsKey("filename"))) {
        // The node below is described (e.g. a filter over a protocol): probe the format over it.
        if (filename != null) {
          childOpts.putIfAbsent("filename", filename);
        }
        BlockDevice below = openNode(childOpts, params, false);
        return probeAndOpen(below.location(), below, own, params);
      }
      if (filename == null) {
        throw new InvalidOptionException("Neither 'driver' nor 'filename' was given for "
            + (top ? "the image" : "a child node"));
      }
      Location loc = parseLocation(filename);
      if (!top) {
        return openProtocol(loc, own, params);
      }
      BlockDevice proto = openProtocol(loc, childOpts, params);
      return probeAndOpen(loc.fileName(), proto, own, params);
    }
    BlockDriver drv = driver(driverName);
    if (drv.kind() == DriverKind.PROTOCOL) {
      if (filename == null) {
        throw new InvalidOptionException("Protocol driver '" + drv.name() + "' needs a filename");
      }
      Location loc = parseLocation(filename);
      String path = loc.protocol() == drv ? loc.path() : filename;
      return openProtocol(new Location(drv, path), own, params);
    }
    BlockDevice child;
    String location;
    if (childOpts.isEmpty() || !childOpts.containsKey("driver") && !childOpts.containsKey("filename")) {
      if (filename == null) {
        throw new InvalidOptionException("Driver '" + drv.name()
            + "' needs a child: give 'filename' or 'file.driver'/'file.filename'");
      }
      Location loc = parseLocation(filename);
      child = openProtocol(loc, childOpts, params);
      location = filename;
    } else {
      if (filename != null && !childOpts.containsKey("filename")) {
        childOpts.put("filename", filename);
      }
      child = openNode(childOpts, params, false);
      location = child.location();
    }
    return openOver(drv, location, child, own, params, null);
  }

  private BlockDevice openProtocol(Location loc, Map<String, String> raw, OpenParams params)
      throws IOException {
    BlockDriver drv = loc.protocol();
    Options o = Options.of(raw, drv.openOptions());
    return drv.open(new OpenRequest(loc.path(), null, o, params.readOnly(), params.forceShare(),
        null, params.warnings()));
  }

  private BlockDevice probeAndOpen(String fileName, BlockDevice proto, Map<String, String> own,
      OpenParams params) throws IOException {
    try {
      ProbeInput input = probeInput(proto, fileName);
      BlockDriver fmt;
      FormatProber prober = null;
      if (input.length() == 0 && drivers.containsKey(RAW)) {
        fmt = drivers.get(RAW);
      } else {
        ProbeResult r = probe(input);
        if (r.recognised() != null) {
          throw new MissingDriverException(proto.location(), r.recognised().name(),
              r.recognised().description());
        }
        if (r.winner() == null) {
          throw new UnknownFormatException(proto.location(), r.scores());
        }
        fmt = drivers.get(r.winner());
      }
      if (fmt.name().equals(RAW)) {
        prober = this::claimNonRaw;
        if (!params.readOnly()) {
          params.warnings().accept("WARNING: Image format was not specified for '"
              + proto.location() + "' and probing guessed raw.\n"
              + "         Automatically detecting the format is dangerous for raw images, "
              + "write operations on block 0 will be restricted.\n"
              + "         Specify the 'raw' format explicitly to remove the restrictions.");
        }
      }
      return openOver(fmt, proto.location(), proto, own, params, prober);
    } catch (IOException | RuntimeException e) {
      closeQuietly(proto, e);
      throw e;
    }
  }

  private Optional<String> claimNonRaw(ProbeInput input) {
    ProbeResult r = probe(input);
    if (r.recognised() != null) {
      return Optional.of(r.recognised().name());
    }
    return r.scores().entrySet().stream()
        .filter(e -> !e.getKey().equals(RAW) && e.getValue() > BlockDriver.PROBE_LAST_RESORT)
        .map(Map.Entry::getKey).findFirst();
  }

  private BlockDevice openOver(BlockDriver drv, String location, BlockDevice child,
      Map<String, String> raw, OpenParams params, FormatProber prober) throws IOException {
    try {
      Options o = Options.of(raw, drv.openOptions());
      return drv.open(new OpenRequest(location, child, o, params.readOnly(),
          params.forceShare(), prober, params.warnings()));
    } catch (IOException | RuntimeException e) {
      closeQuietly(child, e);
      throw e;
    }
  }

  /** Reads the probe bytes of an open node: its head and, when the head is not all of it, its tail. */
  public static ProbeInput probeInput(BlockDevice dev, String fileName) throws IOException {
    long len = dev.size();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(len, BlockDriver.PROBE_SIZE));
    dev.read(0, head);
    head.flip();
    String name = fileName == null ? "" : fileName;
    if (len <= head.limit()) {
      return new ProbeInput(head, len, name);
    }
    ByteBuffer tail = ByteBuffer.allocate((int) Math.min(len, BlockDriver.PROBE_TAIL_SIZE));
    dev.read(len - tail.limit(), tail);
    tail.flip();
    return new ProbeInput(head, tail, len, name);
  }

  private static void closeQuietly(BlockDevice d, Throwable primary) {
    try {
      d.close();
    } catch (IOException e) {
      primary.addSuppressed(e);
    }
  }

  /**
   * Creates an image: the protocol makes empty storage, then the format (if it is not a protocol
   * itself) writes its structures. If formatting fails, the storage is deleted again.
   *
   * @param filename a path or {@code proto:name}
   * @param format a FORMAT or PROTOCOL driver name
   * @param options the format's create options as {@code key=value} pairs ({@code size} included)
   */
  public void create(String filename, String format, Map<String, String> options)
      throws IOException {
    BlockDriver drv = driver(format);
    Location loc = parseLocation(filename);
    if (drv.kind() == DriverKind.PROTOCOL) {
      drv.create(new CreateRequest(loc.path(), null, Options.of(options, drv.createOptions())));
      return;
    }
    if (drv.kind() != DriverKind.FORMAT) {
      throw new InvalidOptionException("Driver '" + format + "' is a " + drv.kind().name()
          .toLowerCase(java.util.Locale.ROOT) + " driver and cannot create images");
    }
    Options fmtOpts = Options.of(options, drv.createOptions());
    BlockDriver proto = loc.protocol();
    proto.create(new CreateRequest(loc.path(), null,
        Options.of(Map.of(), proto.createOptions())));
    boolean ok = false;
    try (BlockDevice child = proto.open(new OpenRequest(loc.path(), null,
        Options.of(Map.of(), proto.openOptions()), false, false, null, w -> { }))) {
      drv.create(new CreateRequest(filename, child, fmtOpts));
      child.flush();
      ok = true;
    } finally {
      if (!ok) {
        try {
          proto.delete(loc.path());
        } catch (IOException | RuntimeException ignored) {
          // the original failure matters more than a failed clean-up
        }
      }
    }
  }

  /** The create options of {@code format}, for {@code -o help}. */
  public List<OptionSpec> createOptions(String format) throws NoSuchDriverException {
    return driver(format).createOptions();
  }
}
