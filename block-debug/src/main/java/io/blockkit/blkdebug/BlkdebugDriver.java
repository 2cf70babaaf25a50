package io.blockkit.blkdebug;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.util.List;
import java.util.Set;

/** The {@code blkdebug} fault-injection filter; see the package documentation for its options. */
public final class BlkdebugDriver implements BlockDriver {
  public static final String NAME = "blkdebug";

  private static final List<OptionSpec> OPEN_OPTIONS = List.of(
      OptionSpec.integer(FaultPlan.FAIL_READ, "0", "fail the Nth read (1-based; 0 = never)"),
      OptionSpec.integer(FaultPlan.FAIL_WRITE, "0", "fail the Nth write (1-based; 0 = never)"),
      OptionSpec.integer(FaultPlan.FAIL_FLUSH, "0", "fail the Nth flush (1-based; 0 = never)"),
      OptionSpec.size(FaultPlan.FAIL_AFTER_BYTES, null,
          "fail writes that would take the bytes written above this size"),
      OptionSpec.integer(FaultPlan.POWER_LOSS_AFTER_WRITES, null,
          "after N writes, drop every later write while reporting success (simulated power loss)"),
      OptionSpec.bool(FaultPlan.ONCE, false, "fire each fail-* rule only once"));

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FILTER;
  }

  @Override
  public String description() {
    return "Fault injection and simulated power loss for testing block stacks";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.WRITE);
  }

  @Override
  public List<OptionSpec> openOptions() {
    return OPEN_OPTIONS;
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    if (request.child() == null) {
      throw new InvalidOptionException("Driver 'blkdebug' is a filter and needs a child node "
          + "(give a filename or file.driver/file.filename)");
    }
    return new BlkdebugDevice(this, request, FaultPlan.from(request.options()));
  }
}
