package io.blockkit.verify.plugin;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;

/**
 * A FORMAT driver that lives only in the test classpath, registered through this module's test
 * {@code META-INF/services}: proof that a plugin is found, probed and opened with no change to the
 * core, and the conformance kit's proving ground for backing chains. Layout in {@link ToyHeader}:
 * a header naming the backing image, a map of small clusters, copy-on-write from the backing.
 *
 * <p>Besides the registered driver, {@link #readOnly()} is a build that only reads (the kit's
 * fixture suite runs it), and {@link #withFlaw} builds deliberately broken ones, so that the kit's
 * self-test shows each suite catching the bug it is meant to catch.
 */
public final class ToyFormatDriver implements BlockDriver {
  public static final String NAME = "toyfmt";
  static final byte[] MAGIC = ToyHeader.MAGIC;

  /** A deliberate bug, for the conformance kit's self-test. */
  public enum Flaw {
    /** None: the driver as it should be. */
    NONE,
    /** A write into an unallocated cluster fills the rest with zeros, not the backing's bytes. */
    NO_COPY_ON_WRITE,
    /** Zeroing whole clusters unallocates them, so the backing's data shows through again. */
    ZEROES_FALL_THROUGH,
    /** Block status calls everything allocated data, hiding what the backing decides. */
    STATUS_CLAIMS_DATA,
    /** A read starting in a data cluster takes the following clusters from the next host ones. */
    MISREADS_ACROSS_CLUSTERS,
    /** The read-only build declares {@link DriverFeature#WRITE}, yet opens images read-only. */
    DECLARES_WRITE
  }

  private final boolean readOnly;
  private final Flaw flaw;

  /** The registered driver: creates, writes, has backing files (changeable), compacts. */
  public ToyFormatDriver() {
    this(false, Flaw.NONE);
  }

  private ToyFormatDriver(boolean readOnly, Flaw flaw) {
    this.readOnly = readOnly;
    this.flaw = flaw;
  }

  /** The same format, read-only: no {@link DriverFeature#CREATE} or {@link DriverFeature#WRITE}. */
  public static ToyFormatDriver readOnly() {
    return new ToyFormatDriver(true, Flaw.NONE);
  }

  /** A broken build (read-only or not) of the same name, for the kit's self-test. */
  public static ToyFormatDriver withFlaw(Flaw flaw, boolean readOnly) {
    return new ToyFormatDriver(readOnly, flaw);
  }

  /** The bug this build has, if any. */
  Flaw flaw() {
    return flaw;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FORMAT;
  }

  @Override
  public String description() {
    return "Test-only toy format proving the plugin mechanism and the conformance kit"
        + (readOnly ? " (read-only build)" : "");
  }

  @Override
  public Set<DriverFeature> features() {
    if (!readOnly) {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.BACKING,
          DriverFeature.COMPACT);
    }
    return flaw == Flaw.DECLARES_WRITE ? Set.of(DriverFeature.WRITE, DriverFeature.BACKING)
        : Set.of(DriverFeature.BACKING);
  }

  @Override
  public int probe(ProbeInput input) {
    // A toy image holds at least its whole header; a cut copy of one is not an image.
    return input.available() >= ToyHeader.LENGTH && input.headHas(0, "TOYFMT\r\n")
        ? PROBE_EXACT : 0;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(OptionSpec.size("size", null, "Virtual size (default: the backing's)"),
        OptionSpec.size("cluster_size", "4096", "Allocation unit, 512 to 64K"),
        OptionSpec.string("backing_file", null, "Backing image, relative to this one's folder"),
        OptionSpec.string("backing_fmt", null, "Format of the backing image"));
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    if (readOnly) {
      throw new UnsupportedFeatureException("Driver 'toyfmt' (read-only build) cannot create");
    }
    Options o = request.options();
    String backingName = o.has("backing_file") ? o.string("backing_file") : null;
    String backingFormat = o.has("backing_fmt") ? o.string("backing_fmt") : null;
    Long size = o.has("size") ? o.size("size") : null;
    if (backingName != null) {
      // Opening it proves it exists (a missing backing fails the create) and gives its size.
      try (BlockDevice backing = request.related().openBacking(backingName, backingFormat)
          .orElseThrow(() -> new InvalidOptionException("the backing file was dropped"))) {
        size = size != null ? size : backing.size();
      }
    }
    if (size == null) {
      throw new InvalidOptionException("Option 'size' is required for toyfmt");
    }
    long cluster = o.size("cluster_size");
    String problem = ToyHeader.problem(size, cluster, backingName, backingFormat);
    if (problem != null) {
      throw new InvalidOptionException("toyfmt: " + problem);
    }
    ToyHeader header = new ToyHeader(size, (int) cluster, backingName, backingFormat);
    request.child().write(0, header.encode());
    // An all-unallocated map, written in pieces so that a huge one needs no huge buffer.
    ByteBuffer zeros = ByteBuffer.allocate(64 << 10);
    long mapBytes = 4 * header.clusters();
    for (long done = 0; done < mapBytes; done += zeros.limit()) {
      zeros.clear().limit((int) Math.min(zeros.capacity(), mapBytes - done));
      request.child().write(ToyHeader.MAP_OFFSET + done, zeros);
    }
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    if (readOnly && !request.readOnly() && flaw != Flaw.DECLARES_WRITE) {
      throw new UnsupportedFeatureException("Driver 'toyfmt' (read-only build) can only open "
          + "images read-only");
    }
    ToyHeader header = ToyHeader.read(request.child(), request.location());
    OpenRequest r = flaw != Flaw.DECLARES_WRITE ? request
        : new OpenRequest(request.location(), request.child(), request.options(), true,
            request.forceShare(), request.probedBy(), request.warnings(), request.related());
    return ToyDevice.open(this, r, header);
  }
}
