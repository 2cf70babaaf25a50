package io.blockkit.registry;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.error.BlockException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * Finds drivers with {@link ServiceLoader}: the built-in ones on a class loader, and each plugin
 * jar (or folder) on a class loader of its own, so that a plugin that fails to load is skipped
 * with one warning naming it while everything else keeps working.
 */
final class DriverLoader {
  private DriverLoader() {}

  /** The drivers {@code loader} sees; a broken provider there is an error. */
  static List<BlockDriver> builtIn(ClassLoader loader) throws BlockException {
    List<BlockDriver> found = new ArrayList<>();
    try {
      for (BlockDriver d : ServiceLoader.load(BlockDriver.class, loader)) {
        found.add(d);
      }
    } catch (ServiceConfigurationError e) {
      throw new BlockException("Could not load a block driver: " + e.getMessage(), e);
    }
    return found;
  }

  /**
   * The drivers a plugin jar or folder declares, on a class loader of its own below {@code
   * parent}; empty, with a warning naming the plugin, when any of them cannot be loaded.
   *
   * @param known drivers already loaded from {@code parent}, which the plugin's loader sees too
   */
  static List<BlockDriver> plugin(URL jar, ClassLoader parent, List<BlockDriver> known,
      Consumer<String> warnings) {
    URLClassLoader loader = new URLClassLoader(new URL[] {jar}, parent);
    List<BlockDriver> found = new ArrayList<>();
    try {
      for (ServiceLoader.Provider<BlockDriver> p
          : ServiceLoader.load(BlockDriver.class, loader).stream().toList()) {
        if (known.stream().noneMatch(d -> d.getClass() == p.type())) {
          found.add(p.get());
        }
      }
      return found;
    } catch (ServiceConfigurationError | LinkageError | RuntimeException e) {
      warnings.accept("WARNING: skipping plugin '" + jar.getPath() + "': it could not be loaded ("
          + rootMessage(e) + ")");
      return List.of();
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return t == e ? String.valueOf(m) : e.getMessage() + ": " + t;
  }
}
