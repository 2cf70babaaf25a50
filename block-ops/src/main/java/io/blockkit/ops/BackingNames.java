package io.blockkit.ops;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BackingChain;
import io.blockkit.api.DriverKind;
import io.blockkit.api.error.BlockException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * Backing file names as the user gives them to {@code create -b}, {@code convert -B} and {@code
 * rebase -b}: stored as given, and opened the way the registry will open them later, relative to
 * the image that stores them (qemu's rule: an absolute name or one with a protocol prefix stays as
 * it is, anything else is relative to the image's folder).
 */
final class BackingNames {
  private BackingNames() {}

  /** Where {@code stored}, kept in {@code image}, points. */
  static String resolve(BlockRegistry registry, String image, String stored)
      throws BlockException {
    if (hasProtocolPrefix(registry, stored)) {
      return stored;
    }
    BlockRegistry.Location loc = registry.parseLocation(image);
    String path = loc.path();
    String combined;
    if (stored.startsWith("/")) {
      // An absolute name keeps a URL's scheme and authority: http://host + /dir/base.img
      int slash = path.startsWith("//") ? path.indexOf('/', 2) : -1;
      combined = path.startsWith("//") ? (slash < 0 ? path : path.substring(0, slash)) + stored
          : stored;
    } else {
      combined = path.substring(0, path.lastIndexOf('/') + 1) + stored;
    }
    boolean plain = loc.protocol().name().equals(BlockRegistry.DEFAULT_PROTOCOL)
        && !hasProtocolPrefix(registry, combined);
    return plain ? combined : loc.protocol().name() + ":" + combined;
  }

  private static boolean hasProtocolPrefix(BlockRegistry registry, String name) {
    int colon = name.indexOf(':');
    return colon > 0 && registry.find(name.substring(0, colon))
        .filter(d -> d.kind() == DriverKind.PROTOCOL).isPresent();
  }

  /** The link to store in {@code image} for backing {@code stored} of format {@code format}. */
  static BackingLink link(BlockRegistry registry, String image, String stored, String format)
      throws BlockException {
    return new BackingLink(stored, resolve(registry, image, stored), format);
  }

  /** Opens the backing {@code stored} of {@code image} read-only, as a chain of its own. */
  static BlockDevice open(BlockRegistry registry, String image, String stored, String format,
      OpenParams params) throws IOException {
    return registry.open(resolve(registry, image, stored),
        params.withFormat(format).withReadOnly(true).withOptions(java.util.Map.of()));
  }

  /**
   * The depth of the layer of {@code top}'s chain that {@code name} names, as qemu-img commit's
   * {@code -b} finds it: the name some layer above stores for it, where that name points, or the
   * same stored object (a path spelled another way).
   *
   * @throws BlockException when no layer below the top is {@code name}
   */
  static int depthOf(BlockRegistry registry, BlockDevice top, String topName, String name)
      throws IOException {
    List<BlockDevice> layers = BackingChain.layers(top);
    String wanted = canonical(registry, name);
    for (int depth = 1; depth < layers.size(); depth++) {
      BackingLink link = layers.get(depth - 1).info().backing();
      BlockDevice layer = layers.get(depth);
      if (link != null && (name.equals(link.filename()) || name.equals(link.fullFilename()))
          || name.equals(layer.location())
          || wanted != null && wanted.equals(canonical(registry, layer.location()))) {
        return depth;
      }
    }
    throw new BlockException("Did not find '" + name + "' in the backing chain of '" + topName
        + "'");
  }

  /** One spelling per stored object, or null when the name cannot be examined. */
  private static String canonical(BlockRegistry registry, String name) {
    try {
      BlockRegistry.Location loc = registry.parseLocation(name);
      return loc.protocol().name() + ":"
          + Objects.requireNonNull(loc.protocol().canonical(loc.path()));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
