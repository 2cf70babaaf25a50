package io.blockkit.raw;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Measurement;
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

/** The {@code raw} format: the guest's bytes are the child's bytes. See the package documentation. */
public final class RawDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "raw";

  private static final String SIZE = "size";
  private static final String PREALLOCATION = "preallocation";
  private static final int ZERO_CHUNK = 1 << 20;

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
    return "Raw disk image: the virtual disk's bytes stored as they are";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.RESIZE,
        DriverFeature.MEASURE);
  }

  /** Any bytes are a valid raw image, so raw claims everything with the lowest score. */
  @Override
  public int probe(ProbeInput input) {
    return PROBE_LAST_RESORT;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(
        OptionSpec.size(SIZE, null, "Virtual disk size"),
        OptionSpec.choice(PREALLOCATION, "off",
            "off: sparse; full: write zeros over the whole disk", "off", "full"));
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    BlockDevice child = request.child();
    if (child == null) {
      throw new InvalidOptionException("The raw format needs a child node to open '"
          + request.location() + "'");
    }
    return new RawDevice(this, request.location(), child, request.readOnly(),
        request.probedBy());
  }

  /**
   * A raw image needs its virtual size, whatever it holds: unallocated ranges are part of the
   * file too (qemu's answer, without its rounding up to whole sectors: raw sizes are exact here).
   */
  @Override
  public Measurement measure(Options options, BlockDevice source) throws IOException {
    long size;
    if (source != null) {
      size = source.size();
    } else if (options.has(SIZE)) {
      size = options.size(SIZE);
    } else {
      throw new InvalidOptionException("Option 'size' is required to measure a raw image");
    }
    return new Measurement(size, size);
  }

  /** Sets the child's length to {@code size}, writing zeros with {@code preallocation=full}. */
  @Override
  public void create(CreateRequest request) throws IOException {
    BlockDevice child = request.child();
    if (child == null) {
      throw new InvalidOptionException("The raw format needs a child node to create '"
          + request.location() + "'");
    }
    Options o = request.options();
    if (!o.has(SIZE)) {
      throw new InvalidOptionException("Option 'size' is required to create raw image '"
          + request.location() + "'");
    }
    long size = o.size(SIZE);
    boolean full = o.has(PREALLOCATION) && o.string(PREALLOCATION).equals("full");
    if (child.size() != size) {
      if (!child.capabilities().contains(Capability.RESIZE)) {
        throw new UnsupportedFeatureException("Cannot create raw image '" + request.location()
            + "' of " + size + " bytes: its storage (" + child.driver().name()
            + ") cannot be resized and holds " + child.size() + " bytes");
      }
      child.truncate(size);
    }
    if (full) {
      ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(ZERO_CHUNK, Math.max(1, size)));
      for (long pos = 0; pos < size; ) {
        zeros.clear().limit((int) Math.min(zeros.capacity(), size - pos));
        child.write(pos, zeros);
        pos += zeros.limit();
      }
    }
  }
}
