package io.blockkit.cli;

import io.blockkit.api.DriverFeature;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.OptionSpec;
import java.util.List;
import java.util.Set;

/** A driver only reachable through a plugin jar (its service file is not on the class path). */
public final class PluginDriver implements BlockDriver {
  @Override
  public String name() {
    return "plugintest";
  }

  @Override
  public DriverKind kind() {
    return DriverKind.PROTOCOL;
  }

  @Override
  public String description() {
    return "Plugin loaded from a jar";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(OptionSpec.size("size", "0", "size"));
  }

  @Override
  public void create(CreateRequest request) {
  }

  @Override
  public BlockDevice open(OpenRequest request) throws UnsupportedFeatureException {
    throw new UnsupportedFeatureException("plugintest cannot open");
  }
}
