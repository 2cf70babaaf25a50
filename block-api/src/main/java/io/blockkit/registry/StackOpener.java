package io.blockkit.registry;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.FormatProber;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.MissingDriverException;
import io.blockkit.api.error.UnknownFormatException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import io.blockkit.registry.BlockRegistry.Location;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens stacks the way qemu does: a format (named or probed) over a protocol, filters between,
 * and through {@link LinkedImages} the backing chain above.
 */
final class StackOpener {
  private final BlockRegistry registry;
  private final Prober prober;

  StackOpener(BlockRegistry registry, Prober prober) {
    this.registry = registry;
    this.prober = prober;
  }

  /**
   * Opens the node {@code opts} describes.
   *
   * @param top true for an image (probed when no driver is named); false for the node below a
   *     format or filter (a protocol unless a driver is named)
   * @param chain the images above this one in a backing chain, top first; empty for a top image
   */
  BlockDevice openNode(Map<String, String> opts, OpenParams params, boolean top,
      List<LinkedImages.Link> chain) throws IOException {
    OptionTree t = OptionTree.split(opts);
    if (t.driver() == null) {
      if (top && t.describesFile()) {
        // The node below is described (e.g. a filter over a protocol): probe the format over it.
        Map<String, String> below = new LinkedHashMap<>(t.file());
        if (t.filename() != null) {
          below.putIfAbsent("filename", t.filename());
        }
        BlockDevice node = openNode(below, params, false, chain);
        return probeAndOpen(node.location(), node.location(), node, t, params, chain);
      }
      if (t.filename() == null) {
        throw new InvalidOptionException("Neither 'driver' nor 'filename' was given for "
            + (top ? "the image" : "a child node"));
      }
      Location loc = registry.parseLocation(t.filename());
      if (!top) {
        requireNoBacking(loc.protocol(), t);
        return openProtocol(loc, t.own(), params);
      }
      BlockDevice proto = openProtocol(loc, t.file(), params);
      return probeAndOpen(loc.path(), t.filename(), proto, t, params, chain);
    }
    BlockDriver drv = registry.driver(t.driver());
    if (drv.kind() == DriverKind.PROTOCOL) {
      if (t.filename() == null) {
        throw new InvalidOptionException("Protocol driver '" + drv.name() + "' needs a filename");
      }
      requireNoBacking(drv, t);
      Location loc = registry.parseLocation(t.filename());
      String path = loc.protocol() == drv ? loc.path() : t.filename();
      return openProtocol(new Location(drv, path), t.own(), params);
    }
    BlockDevice child;
    String location;
    if (!t.describesFile()) {
      if (t.filename() == null) {
        throw new InvalidOptionException("Driver '" + drv.name()
            + "' needs a child: give 'filename' or 'file.driver'/'file.filename'");
      }
      child = openProtocol(registry.parseLocation(t.filename()), t.file(), params);
      location = t.filename();
    } else {
      Map<String, String> below = new LinkedHashMap<>(t.file());
      if (t.filename() != null) {
        below.putIfAbsent("filename", t.filename());
      }
      child = openNode(below, params, false, chain);
      location = child.location();
    }
    return openOver(drv, location, location, child, t, params, null, chain);
  }

  BlockDevice openProtocol(Location loc, Map<String, String> raw, OpenParams params)
      throws IOException {
    BlockDriver drv = loc.protocol();
    requireWritable(drv, params);
    Options o = Options.of(raw, drv.openOptions());
    return drv.open(new OpenRequest(loc.path(), null, o, params.readOnly(), params.forceShare(),
        null, params.warnings()));
  }

  /**
   * @param path the image's path, whose last element is the probe's file-name hint
   * @param display the image as the user named it, for backing-chain messages
   */
  private BlockDevice probeAndOpen(String path, String display, BlockDevice proto, OptionTree t,
      OpenParams params, List<LinkedImages.Link> chain) throws IOException {
    try {
      ProbeInput input = Prober.input(proto, BlockRegistry.fileName(path));
      BlockDriver fmt;
      FormatProber guard = null;
      if (input.length() == 0 && registry.find(BlockRegistry.RAW).isPresent()) {
        fmt = registry.driver(BlockRegistry.RAW);
      } else {
        ProbeResult r = prober.probe(input);
        if (r.recognised() != null) {
          throw new MissingDriverException(proto.location(), r.recognised().name(),
              r.recognised().description());
        }
        if (r.winner() == null) {
          throw new UnknownFormatException(proto.location(), r.scores());
        }
        fmt = registry.driver(r.winner());
      }
      if (fmt.name().equals(BlockRegistry.RAW)) {
        guard = prober::claimNonRaw;
        if (!params.readOnly()) {
          params.warnings().accept("WARNING: Image format was not specified for '"
              + proto.location() + "' and probing guessed raw.\n"
              + "         Automatically detecting the format is dangerous for raw images, "
              + "write operations on block 0 will be restricted.\n"
              + "         Specify the 'raw' format explicitly to remove the restrictions.");
        }
      }
      return openOver(fmt, proto.location(), display, proto, t, params, guard, chain);
    } catch (IOException | RuntimeException e) {
      closeQuietly(proto, e);
      throw e;
    }
  }

  private BlockDevice openOver(BlockDriver drv, String location, String display,
      BlockDevice child, OptionTree t, OpenParams params, FormatProber guard,
      List<LinkedImages.Link> chain) throws IOException {
    try {
      requireWritable(drv, params);
      requireNoBacking(drv, t);
      Options o = Options.of(t.own(), drv.openOptions());
      LinkedImages related = new LinkedImages(registry, this, new LinkedImages.Link(display,
          bottom(child)), chain, t, params);
      return drv.open(new OpenRequest(location, child, o, params.readOnly(),
          params.forceShare(), guard, params.warnings(), related));
    } catch (IOException | RuntimeException e) {
      closeQuietly(child, e);
      throw e;
    }
  }

  /** The protocol node at the bottom of a stack. */
  private static BlockDevice bottom(BlockDevice node) {
    BlockDevice d = node;
    while (d.child().isPresent()) {
      d = d.child().get();
    }
    return d;
  }

  private static void requireWritable(BlockDriver drv, OpenParams params)
      throws UnsupportedFeatureException {
    if (!params.readOnly() && !drv.features().contains(DriverFeature.WRITE)) {
      throw new UnsupportedFeatureException("Driver '" + drv.name()
          + "' can only open images read-only");
    }
  }

  private static void requireNoBacking(BlockDriver drv, OptionTree t)
      throws UnsupportedFeatureException {
    if (t.backingOverridden() && !drv.features().contains(DriverFeature.BACKING)) {
      throw new UnsupportedFeatureException("Driver '" + drv.name()
          + "' does not support backing files");
    }
  }

  static void closeQuietly(BlockDevice d, Throwable primary) {
    try {
      d.close();
    } catch (IOException e) {
      primary.addSuppressed(e);
    }
  }
}
