package io.blockkit.registry;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import io.blockkit.registry.BlockRegistry.Location;
import java.io.IOException;
import java.util.Locale;
import java.util.List;
import java.util.Map;

/**
 * Creates images: the protocol makes empty storage, then the format writes its structures into
 * it; if formatting fails, the storage is deleted again.
 */
final class ImageCreator {
  /** The create option naming a backing file, as qemu-img's formats call it. */
  static final String BACKING_FILE = "backing_file";

  private final BlockRegistry registry;
  private final StackOpener opener;

  ImageCreator(BlockRegistry registry, StackOpener opener) {
    this.registry = registry;
    this.opener = opener;
  }

  /** Creates the image; returns the further files the format made beside it (see BlockRegistry). */
  List<Location> create(String filename, String format, Map<String, String> options,
      OpenParams params) throws IOException {
    BlockDriver drv = registry.driver(format);
    require(drv, DriverFeature.CREATE);
    if (options.containsKey(BACKING_FILE)) {
      require(drv, DriverFeature.BACKING);
    }
    Location loc = registry.parseLocation(filename);
    if (drv.kind() == DriverKind.PROTOCOL) {
      drv.create(new CreateRequest(loc.path(), null, Options.of(options, drv.createOptions())));
      return List.of();
    }
    if (drv.kind() != DriverKind.FORMAT) {
      throw new InvalidOptionException("Driver '" + format + "' is a "
          + drv.kind().name().toLowerCase(Locale.ROOT) + " driver and cannot create images");
    }
    Options fmtOpts = Options.of(options, drv.createOptions());
    BlockDriver proto = loc.protocol();
    require(proto, DriverFeature.CREATE);
    proto.create(new CreateRequest(loc.path(), null,
        Options.of(Map.of(), proto.createOptions())));
    boolean ok = false;
    LinkedImages related = LinkedImages.forCreate(registry, opener,
        new LinkedImages.Link(filename, proto, loc.path()), params.withReadOnly(true));
    try (BlockDevice child = proto.open(new OpenRequest(loc.path(), null,
        Options.of(Map.of(), proto.openOptions()), false, false, null, w -> { }))) {
      drv.create(new CreateRequest(filename, child, fmtOpts, related));
      child.flush();
      ok = true;
      return related.createdFiles();
    } finally {
      if (!ok) {
        for (Location made : related.createdFiles()) {
          deleteQuietly(made);
        }
        deleteQuietly(loc);
      }
    }
  }

  private static void deleteQuietly(Location loc) {
    try {
      loc.protocol().delete(loc.path());
    } catch (IOException | RuntimeException ignored) {
      // the original failure matters more than a failed clean-up
    }
  }

  static void require(BlockDriver drv, DriverFeature f) throws UnsupportedFeatureException {
    if (!drv.features().contains(f)) {
      throw new UnsupportedFeatureException("Driver '" + drv.name() + "' does not support "
          + f.noun());
    }
  }
}
