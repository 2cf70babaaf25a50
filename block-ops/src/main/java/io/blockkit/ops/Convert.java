package io.blockkit.ops;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Extent;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.WellKnownOptions;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Copies an image into a new image of any format, or into an existing one: {@code qemu-img
 * convert}.
 *
 * <pre>{@code
 * ConvertResult r = Convert.from(source).to("copy.vdi").format("vdi")
 *     .progress((status, done, total) -> ...).run(registry);
 * }</pre>
 *
 * <p>The source's backing chain is flattened: the target holds everything the source reads as,
 * unless {@link #backing} keeps a backing file, in which case only what the source's top layer
 * allocates is copied and the rest is left to the target's backing (which must read as the
 * source's backing does, as with qemu-img's {@code -B}).
 *
 * <p>A new target appears under its name only when complete (see {@link Create}); a failure or
 * {@link Cancellation} removes it. {@link #into} writes an existing, open image in place.
 *
 * <p>Only runs the source's block status calls data are read; zero runs cost nothing on a fresh
 * target; inside data, aligned runs of zeros of at least {@link #sparseSize} bytes are not
 * written, so the target stays sparse. The source may be read while others read it; the caller
 * keeps ownership of the devices passed in.
 */
public final class Convert {
  /** The most requests in flight {@link #inFlight} accepts. */
  public static final int MAX_IN_FLIGHT = 32;

  private final BlockDevice source;
  private String target;
  private BlockDevice existing;
  private String format = "raw";
  private Map<String, String> options = Map.of();
  private String backing;
  private String backingFormat;
  private long sparseSize = 4096;
  private int inFlight = defaultInFlight();
  private boolean outOfOrder;
  private boolean salvage;
  private boolean targetIsZero;
  private boolean compress;
  private boolean offload;
  private ProgressListener progress = ProgressListener.NONE;
  private Cancellation cancel = new Cancellation();
  private Consumer<String> warnings = System.err::println;

  private Convert(BlockDevice source) {
    this.source = Objects.requireNonNull(source, "source");
  }

  /** A convert of the open image {@code source} (read-only is enough). */
  public static Convert from(BlockDevice source) {
    return new Convert(source);
  }

  /**
   * Each request in flight is a thread that copies through the CPU (page cache to buffer to page
   * cache), so more threads than CPUs only thrash the caches: measured on 2 CPUs, 2 in flight
   * convert 2 GiB in 1.0 s where 8 take 1.3 s (docs/PERFORMANCE.md). qemu-img's 8 is a count of
   * coroutines, not threads.
   */
  public static int defaultInFlight() {
    return Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
  }

  /** Creates {@code target} (a path or {@code proto:name}), replacing what is there on success. */
  public Convert to(String target) {
    this.target = Objects.requireNonNull(target, "target");
    this.existing = null;
    return this;
  }

  /** Writes into the open, writable image {@code target} instead (qemu-img's {@code -n}). */
  public Convert into(BlockDevice target) {
    this.existing = Objects.requireNonNull(target, "target");
    this.target = null;
    return this;
  }

  /** The new target's format (default raw). */
  public Convert format(String format) {
    this.format = Objects.requireNonNull(format, "format");
    return this;
  }

  /** The new target's create options ({@code size} defaults to the source's). */
  public Convert options(Map<String, String> options) {
    this.options = Map.copyOf(options);
    return this;
  }

  /**
   * Gives the new target the backing file {@code name} (stored as given, relative to the target's
   * folder unless absolute) of {@code format} (null: probed), and copies only what the source's
   * top layer allocates.
   */
  public Convert backing(String name, String format) {
    this.backing = Objects.requireNonNull(name, "name");
    this.backingFormat = format;
    return this;
  }

  /**
   * Zero runs inside data of at least this many bytes (a multiple of 512) are not written; 0
   * writes every byte, allocating the whole target (qemu-img's {@code -S}). Default 4096.
   */
  public Convert sparseSize(long bytes) {
    this.sparseSize = bytes;
    return this;
  }

  /** Requests in flight, 1 to {@link #MAX_IN_FLIGHT} (default {@link #defaultInFlight()}). */
  public Convert inFlight(int n) {
    this.inFlight = n;
    return this;
  }

  /** Lets writes complete out of offset order (faster for preallocated targets). */
  public Convert outOfOrder(boolean on) {
    this.outOfOrder = on;
    return this;
  }

  /** Turns unreadable source ranges into zeros, listed in the result, instead of failing. */
  public Convert salvage(boolean on) {
    this.salvage = on;
    return this;
  }

  /**
   * Stores the new target compressed (qemu-img's {@code -c}): the target format must offer the
   * open option {@link WellKnownOptions#COMPRESS}. Writes then complete out of offset order, so
   * that the requests in flight compress in parallel (each in its own thread).
   */
  public Convert compress(boolean on) {
    this.compress = on;
    return this;
  }

  /**
   * Copy offload (qemu-img's {@code -C}): where source and target both lie in local files at the
   * same offsets ({@link BlockDevice#hostFile}, such as raw to raw), data is copied by the kernel
   * without passing through this process; zero runs are still found (in a mapped view of the
   * source) and left out as {@link #sparseSize} says. Elsewhere an ordinary copy. Not with
   * {@link #compress}.
   */
  public Convert copyOffload(boolean on) {
    this.offload = on;
    return this;
  }

  /** With {@link #into}: the target already reads as zeros, so zero runs need no write. */
  public Convert targetIsZero(boolean on) {
    this.targetIsZero = on;
    return this;
  }

  public Convert progress(ProgressListener listener) {
    this.progress = Objects.requireNonNull(listener, "listener");
    return this;
  }

  public Convert cancellation(Cancellation token) {
    this.cancel = Objects.requireNonNull(token, "token");
    return this;
  }

  /** Where warnings go (a probed raw backing, a clean-up that failed); default standard error. */
  public Convert warnings(Consumer<String> sink) {
    this.warnings = Objects.requireNonNull(sink, "sink");
    return this;
  }

  /**
   * Runs the convert.
   *
   * @throws InvalidOptionException for a bad sparse size, requests in flight or options
   * @throws BlockException when an existing target is smaller than the source, or the target
   *     format cannot have a backing file
   * @throws CancelledException when the token was tripped (a new target is removed)
   * @throws IOException when reading or writing fails (a new target is removed)
   */
  public ConvertResult run(BlockRegistry registry) throws IOException {
    if (sparseSize < 0 || sparseSize % 512 != 0) {
      throw new InvalidOptionException("The sparse size must be a multiple of 512 (0: write "
          + "every byte), not " + sparseSize);
    }
    if (inFlight < 1 || inFlight > MAX_IN_FLIGHT) {
      throw new InvalidOptionException("Requests in flight must be between 1 and "
          + MAX_IN_FLIGHT + ", not " + inFlight);
    }
    if (offload && compress) {
      throw new InvalidOptionException("Copy offloading and compression cannot be combined: "
          + "compressed data must pass through this process");
    }
    if (target == null && existing == null) {
      throw new IllegalStateException("no target: call to() or into()");
    }
    long size = source.size();
    if (existing != null) {
      if (backing != null) {
        throw new InvalidOptionException("A backing file is given to new targets only; an "
            + "existing target keeps the one it has");
      }
      if (existing.size() < size) {
        throw new BlockException("Target '" + existing.location() + "' (" + existing.size()
            + " bytes) is smaller than source '" + source.location() + "' (" + size + " bytes)");
      }
      if (compress) {
        throw new InvalidOptionException("Compression applies to new targets only; '"
            + existing.location() + "' is already open");
      }
      return copy(existing, size, targetIsZero);
    }
    BlockDriver fmt = registry.driver(format);
    Map<String, String> openOpts = targetOpenOptions(fmt);
    Map<String, String> createOpts = new LinkedHashMap<>(options);
    if (fmt.createOptions().stream().anyMatch(s -> s.name().equals("size"))) {
      createOpts.putIfAbsent("size", Long.toString(size));
    }
    if (backing != null) {
      createOpts.put(Create.BACKING_FILE, backing);
      if (backingFormat != null) {
        createOpts.put(Create.BACKING_FORMAT, backingFormat);
      }
    }
    OpenParams params = OpenParams.defaults().withWarnings(warnings);
    try (StagedImage image = StagedImage.create(registry, target, format, createOpts, params,
        cancel)) {
      ConvertResult r;
      try (BlockDevice dst = registry.open(image.location(),
          params.withFormat(format).withOptions(openOpts))) {
        // a fresh image reads as zeros, unless a backing shows through it
        r = copy(dst, size, backing == null);
      } catch (IOException e) {
        throw image.named(e);
      }
      image.commit();
      return r;
    }
  }

  /**
   * The new target's open options: compression when asked for (refused where the format has
   * none), and no ordering flushes where the format offers that, because a crash during the
   * convert discards the staged target anyway; the final flush still makes it durable.
   */
  private Map<String, String> targetOpenOptions(BlockDriver fmt) throws InvalidOptionException {
    Map<String, String> o = new LinkedHashMap<>();
    if (compress) {
      if (!WellKnownOptions.offers(fmt.openOptions(), WellKnownOptions.COMPRESS)) {
        throw new InvalidOptionException("Compression not supported for this file format ("
            + format + ")");
      }
      o.put(WellKnownOptions.COMPRESS, "on");
    }
    if (WellKnownOptions.offers(fmt.openOptions(), WellKnownOptions.NO_FLUSH)) {
      o.put(WellKnownOptions.NO_FLUSH, "on");
    }
    return o;
  }

  private ConvertResult copy(BlockDevice dst, long size, boolean zero) throws IOException {
    Tracker t = new Tracker(progress, size);
    Copier c = new Copier(source, dst, size, planner(), sparseSize, zero, salvage, inFlight,
        outOfOrder || compress, offload, t, cancel, "convert");
    t.start();
    boolean ok = false;
    try {
      c.run();
      ok = true;
    } finally {
      t.finish(ok);
    }
    return new ConvertResult(size, c.salvaged());
  }

  /**
   * Flattening: the chain's status decides (the layer that allocates a run, zeros where none
   * does). Keeping a backing: the top layer alone, and what it leaves to its backing is skipped.
   */
  private Copier.Planner planner() {
    return (pos, max) -> {
      Extent e;
      try {
        e = backing == null ? BackingChain.status(source, pos, max).extent()
            : source.blockStatus(pos, max);
      } catch (IOException ex) {
        if (!salvage) {
          throw ex;
        }
        // unknown status: read it, and let the reads decide what is salvaged
        long len = Math.min(max, Copier.CHUNK - pos % Copier.CHUNK);
        return new Copier.Run(pos, len, Copier.Kind.COPY);
      }
      Copier.Kind kind;
      if (backing != null && !e.allocated()) {
        kind = Copier.Kind.SKIP;
      } else if (sparseSize != 0 && (e.zero() || !e.data())) {
        kind = Copier.Kind.ZERO;
      } else {
        kind = Copier.Kind.COPY;
        if (e.hostHoldsBytes()) {
          // where a local file holds the run's bytes as they read: the copy maps them from there
          FileChannel host = e.host().hostFile().orElse(null);
          if (host != null) {
            return new Copier.Run(pos, e.length(), kind, host, e.hostOffset());
          }
        }
      }
      return new Copier.Run(pos, e.length(), kind);
    };
  }
}
