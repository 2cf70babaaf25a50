package io.blockkit.vhdx;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.util.List;
import java.util.Set;

/**
 * The {@code vhdx} format driver: Hyper-V and Azure virtual hard disks v2. Stateless; see the
 * package documentation.
 */
public final class VhdxDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "vhdx";

  private final int pageLimit;

  /** The driver as ServiceLoader makes it. */
  public VhdxDriver() {
    this(defaultPageLimit());
  }

  /** For tests: at most {@code pageLimit} clean metadata pages kept in memory per image. */
  VhdxDriver(int pageLimit) {
    this.pageLimit = pageLimit;
  }

  /** A sixty-fourth of the heap in 4 KiB pages, at least 256 (1 MiB). */
  private static int defaultPageLimit() {
    return (int) Math.max(256, Runtime.getRuntime().maxMemory() / 64 / Layout.PAGE);
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
    return "Hyper-V virtual hard disk v2 (VHDX): dynamic, fixed and differencing images, "
        + "512 and 4096-byte sectors, with log replay";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.BACKING,
        DriverFeature.CHECK, DriverFeature.REPAIR);
  }

  /**
   * 100 when the image starts with "vhdxfile" (as QEMU probes) and is long enough to hold the
   * first header (68 KiB), else 0: a cut copy of a file identifier is not an image.
   */
  @Override
  public int probe(ProbeInput input) {
    return input.headHas(0, "vhdxfile")
        && input.length() >= Layout.HEADER1_OFFSET + Layout.HEADER_BYTES ? PROBE_EXACT : 0;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(
        OptionSpec.size("size", null, "Virtual disk size, rounded up to the logical sector size "
            + "(at most 64T; default with backing_file: the backing's size)"),
        OptionSpec.size("log_size", "1M", "Log size: a multiple of 1M, at least 1M, below 4G"),
        OptionSpec.size("block_size", "0", "Block size: a power of two from 1M to 256M; 0 picks "
            + "one from the size as qemu-img does (8M up to 1G, 16M up to 100G, 32M up to 32T, "
            + "64M above; differencing images over a vhdx take the parent's)"),
        OptionSpec.choice("subformat", "dynamic", "dynamic: blocks allocated on write; fixed: "
            + "every block allocated at create", "dynamic", "fixed"),
        OptionSpec.bool("block_state_zero", true, "Mark the blocks of a new dynamic image ZERO "
            + "rather than NOT_PRESENT (qemu-img's default; both read zeros)"),
        OptionSpec.choice("logical_sector_size", null, "Logical sector size: 512 (default) or "
            + "4096; a differencing image takes its vhdx parent's", "512", "4096"),
        OptionSpec.string("backing_file", null, "Parent image of a differencing image, stored "
            + "relative to this image's folder"),
        OptionSpec.string("backing_fmt", null, "Format of the parent image (vhdx parents are "
            + "linked by their DataWriteGuid)"));
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    return VhdxOpener.open(this, request, pageLimit);
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    VhdxCreator.create(request);
  }
}
