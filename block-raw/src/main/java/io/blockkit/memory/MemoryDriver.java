package io.blockkit.memory;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.Set;

/** The {@code memory} protocol: named sparse images in this JVM's heap. See the package documentation. */
public final class MemoryDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "memory";

  private static final String SIZE = "size";
  private static final String PREALLOCATION = "preallocation";

  /** Every named store of the process; the driver itself stays stateless. */
  private static final ConcurrentMap<String, MemoryStore> STORES = new ConcurrentHashMap<>();

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.PROTOCOL;
  }

  @Override
  public String description() {
    return "Sparse image in the JVM's memory, shared by name within the process (for tests)";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.RESIZE);
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(
        OptionSpec.size(SIZE, "0", "Image size in bytes"),
        OptionSpec.choice(PREALLOCATION, "off",
            "off: sparse; full: allocate every chunk", "off", "full"));
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    String name = request.location();
    MemoryStore store = STORES.get(name);
    if (store == null) {
      throw new ImageAccessException(displayName(name), Reason.NOT_FOUND, null);
    }
    return new MemoryDevice(this, displayName(name), store, request.readOnly());
  }

  /**
   * Creates the named store, or empties an existing one (open devices on it see the change, as
   * with a truncated file).
   */
  @Override
  public void create(CreateRequest request) throws IOException {
    String name = request.location();
    if (name.isEmpty()) {
      throw new InvalidOptionException("A memory image needs a name, e.g. 'memory:disk0'");
    }
    Options o = request.options();
    long size = o.has(SIZE) ? o.size(SIZE) : 0;
    boolean full = o.has(PREALLOCATION) && o.string(PREALLOCATION).equals("full");
    MemoryStore store = STORES.computeIfAbsent(name, n -> new MemoryStore(n, 0));
    store.resize(0);
    store.resize(size);
    if (full) {
      store.allocate(size);
    }
  }

  /** Forgets the named store; open devices keep their data until closed. */
  @Override
  public void delete(String location) throws IOException {
    if (STORES.remove(location) == null) {
      throw new ImageAccessException(displayName(location), Reason.NOT_FOUND, null);
    }
  }

  /**
   * The stores whose names continue {@code folder} (up to its last '/') without a further '/':
   * names are paths in a flat namespace, so related images can be found next to one another.
   */
  @Override
  public List<String> list(String folder) {
    String prefix = folder.substring(0, folder.lastIndexOf('/') + 1);
    return STORES.keySet().stream()
        .filter(n -> n.startsWith(prefix) && n.indexOf('/', prefix.length()) < 0).sorted()
        .toList();
  }

  /** True when a store of that name exists (for tests and tools). */
  public static boolean exists(String name) {
    return STORES.containsKey(name);
  }

  static String displayName(String name) {
    return NAME + ":" + name;
  }
}
