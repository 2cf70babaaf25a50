package io.blockkit.registry;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.RelatedImages;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.BlockException;
import io.blockkit.registry.BlockRegistry.Location;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The registry's {@link RelatedImages} for one image: names resolve against the folder of the
 * image's bottom protocol node, backing images open as whole stacks with the user's {@code
 * backing.*} overrides, and the chain above is remembered so that a loop is refused.
 */
final class LinkedImages implements RelatedImages {
  /** Deeper chains are refused: a real chain is a handful of images, a loop may hide behind links. */
  static final int MAX_DEPTH = 256;

  /**
   * One image of a chain.
   *
   * @param display the image as the user named it, for messages
   * @param protocol the protocol node's driver
   * @param path what the protocol opened
   */
  record Link(String display, BlockDriver protocol, String path) {
    Link(String display, BlockDevice bottom) {
      this(display, bottom.driver(), pathOf(bottom));
    }

    /**
     * What the protocol opened: its node's location without the {@code proto:} prefix that
     * protocols other than the default show in it ({@code memory:disk0}), which would otherwise
     * be doubled when a name resolves next to it.
     */
    static String pathOf(BlockDevice bottom) {
      String location = bottom.location();
      String prefix = bottom.driver().name() + ":";
      boolean shown = !bottom.driver().name().equals(BlockRegistry.DEFAULT_PROTOCOL)
          && location.startsWith(prefix);
      return shown ? location.substring(prefix.length()) : location;
    }

    String canonical() throws IOException {
      return protocol.name() + ":" + protocol.canonical(path);
    }
  }

  private final BlockRegistry registry;
  private final StackOpener opener;
  private final Link self;
  private final List<Link> above;
  private final OptionTree options;
  private final OpenParams params;
  /** Files {@link #createFile} made, while an image is being created; null for an open. */
  private final List<Location> created;

  LinkedImages(BlockRegistry registry, StackOpener opener, Link self, List<Link> above,
      OptionTree options, OpenParams params) {
    this(registry, opener, self, above, options, params, null);
  }

  private LinkedImages(BlockRegistry registry, StackOpener opener, Link self, List<Link> above,
      OptionTree options, OpenParams params, List<Location> created) {
    this.registry = registry;
    this.opener = opener;
    this.self = self;
    this.above = List.copyOf(above);
    this.options = options;
    this.params = params;
    this.created = created;
  }

  /** The related images of an image being created: {@link #createFile} works. */
  static LinkedImages forCreate(BlockRegistry registry, StackOpener opener, Link self,
      OpenParams params) throws io.blockkit.api.error.InvalidOptionException {
    return new LinkedImages(registry, opener, self, List.of(), OptionTree.split(Map.of()),
        params, new ArrayList<>());
  }

  /** What {@link #createFile} made, for a failed create to delete. */
  List<Location> createdFiles() {
    return created == null ? List.of() : List.copyOf(created);
  }

  @Override
  public boolean backingOverridden() {
    return options.backingOverridden();
  }

  @Override
  public Optional<BlockDevice> openBacking(String storedName, String storedFormat)
      throws IOException {
    if (options.backingDropped()) {
      return Optional.empty();
    }
    Map<String, String> opts = new LinkedHashMap<>(options.backing());
    if (!opts.containsKey("filename") && !opts.containsKey("file.filename")
        && !opts.containsKey("file.driver")) {
      if (storedName == null) {
        throw new BlockException("'" + self.display() + "' names no backing file to open");
      }
      opts.put("filename", resolve(storedName));
    }
    if (!opts.containsKey("driver") && storedFormat != null) {
      opts.put("driver", storedFormat);
    }
    String target = opts.getOrDefault("filename", opts.get("file.filename"));
    List<Link> chain = new ArrayList<>(above);
    chain.add(self);
    List<String> names = new ArrayList<>(chain.stream().map(Link::display).toList());
    names.add(String.valueOf(target));
    if (chain.size() >= MAX_DEPTH) {
      throw new BackingChainException(names, "The backing chain of '" + chain.get(0).display()
          + "' is deeper than " + MAX_DEPTH + " images", null);
    }
    refuseLoop(chain, names, target);
    OpenParams p = params.withFormat(null).withOptions(Map.of())
        .withReadOnly(params.readOnly() || !params.writableBacking());
    BlockDevice backing;
    try {
      backing = opener.openNode(opts, p, true, chain);
    } catch (BackingChainException e) {
      throw e; // a deeper link failed and names the chain already
    } catch (IOException e) {
      throw new BackingChainException(names, "Could not open backing file '" + target + "' of '"
          + self.display() + "': " + e.getMessage(), e);
    }
    if (!opts.containsKey("driver") && backing.driver().name().equals(BlockRegistry.RAW)) {
      params.warnings().accept("WARNING: '" + self.display() + "' does not record the format of "
          + "its backing file '" + target + "'; probing guessed raw");
    }
    return Optional.of(backing);
  }

  /** Refuses a backing file that is an image already in the chain. */
  private void refuseLoop(List<Link> chain, List<String> names, String target)
      throws IOException {
    if (target == null) {
      return; // described by options below; a loop there needs a further link to close
    }
    Location loc = registry.parseLocation(target);
    Link next = new Link(target, loc.protocol(), loc.path());
    String key;
    try {
      key = next.canonical();
    } catch (IOException e) {
      return; // it cannot be reached; opening it reports why
    }
    for (Link l : chain) {
      if (Objects.equals(l.canonical(), key)) {
        throw new BackingChainException(names, "Backing file '" + target + "' of '"
            + self.display() + "' is '" + l.display() + "' again: the chain is a loop", null);
      }
    }
  }

  @Override
  public String resolve(String storedName) {
    if (hasProtocolPrefix(storedName)) {
      return storedName;
    }
    String path = self.path();
    String combined;
    if (storedName.startsWith("/")) {
      // An absolute name keeps a URL's scheme and authority: http://host + /dir/base.img
      combined = path.startsWith("//") ? authority(path) + storedName : storedName;
    } else {
      combined = path.substring(0, path.lastIndexOf('/') + 1) + storedName;
    }
    return prefixed(combined);
  }

  private boolean hasProtocolPrefix(String name) {
    int colon = name.indexOf(':');
    return colon > 0 && registry.find(name.substring(0, colon))
        .filter(d -> d.kind() == io.blockkit.api.DriverKind.PROTOCOL).isPresent();
  }

  private static String authority(String path) {
    int slash = path.indexOf('/', 2);
    return slash < 0 ? path : path.substring(0, slash);
  }

  /** A path of this image's protocol as a filename the registry parses back to it. */
  private String prefixed(String path) {
    return self.protocol().name().equals(BlockRegistry.DEFAULT_PROTOCOL) && !hasProtocolPrefix(path)
        ? path : self.protocol().name() + ":" + path;
  }

  @Override
  public BlockDevice openFile(String storedName, boolean readOnly) throws IOException {
    return opener.openProtocol(registry.parseLocation(resolve(storedName)), Map.of(),
        params.withReadOnly(params.readOnly() || readOnly));
  }

  @Override
  public BlockDevice createFile(String storedName) throws IOException {
    if (created == null) {
      return RelatedImages.super.createFile(storedName);
    }
    Location loc = registry.parseLocation(resolve(storedName));
    ImageCreator.require(loc.protocol(), io.blockkit.api.DriverFeature.CREATE);
    loc.protocol().create(new io.blockkit.api.CreateRequest(loc.path(), null,
        io.blockkit.api.options.Options.of(Map.of(), loc.protocol().createOptions())));
    created.add(loc);
    return opener.openProtocol(loc, Map.of(), params.withReadOnly(false));
  }

  @Override
  public List<String> listFolder(String storedFolder) throws IOException {
    Location folder;
    if (storedFolder == null) {
      String path = self.path();
      folder = new Location(self.protocol(), path.substring(0, path.lastIndexOf('/') + 1));
    } else {
      folder = registry.parseLocation(resolve(storedFolder));
    }
    List<String> out = new ArrayList<>();
    for (String entry : folder.protocol().list(folder.path())) {
      out.add(folder.protocol().name().equals(BlockRegistry.DEFAULT_PROTOCOL)
          && !hasProtocolPrefix(entry) ? entry : folder.protocol().name() + ":" + entry);
    }
    return out;
  }
}
