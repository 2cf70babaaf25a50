package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * What every command shares: the output streams, the flags that apply to all commands, and the
 * driver registry (built on first use, with plugin jars on their own class loader).
 */
final class Env {
  /** System property the launcher sets to the tool's folder (where {@code plugins/} lives). */
  static final String HOME_PROPERTY = "blockkit.home";
  static final String PLUGIN_PATH_ENV = "BLOCKKIT_PLUGIN_PATH";

  final PrintWriter out;
  final PrintWriter err;
  final boolean debug;
  final boolean terminal;
  private final List<String> pluginPath;
  private final Map<String, String> environment;
  private FutureTask<BlockRegistry> registry;

  Env(PrintWriter out, PrintWriter err, boolean debug, boolean terminal, List<String> pluginPath,
      Map<String, String> environment) {
    this.out = out;
    this.err = err;
    this.debug = debug;
    this.terminal = terminal;
    this.pluginPath = List.copyOf(pluginPath);
    this.environment = environment;
  }

  /** This environment writing its standard output to {@code otherOut}; the drivers are shared. */
  Env withOut(PrintWriter otherOut) {
    Env e = new Env(otherOut, err, debug, terminal, pluginPath, environment);
    synchronized (this) {
      if (registry == null) {
        registry = new FutureTask<>(this::load);
        registry.run();
      }
      e.registry = registry;
    }
    return e;
  }

  /**
   * Starts loading the drivers on a background thread, so that class loading and the drivers'
   * own start-up overlap with parsing the command line; then lets the drivers named in {@code
   * preload} start loading what their first open needs. Idempotent.
   */
  synchronized void warmUp(String... preload) {
    if (registry == null) {
      registry = new FutureTask<>(() -> {
        BlockRegistry r = load();
        for (String name : preload) {
          r.find(name).ifPresent(BlockDriver::preload);
        }
        return r;
      });
      Thread t = new Thread(registry, "blockkit-warm-up");
      t.setDaemon(true);
      t.start();
    }
  }

  /** The drivers: built-ins on the class path plus plugin jars. */
  BlockRegistry registry() throws IOException {
    FutureTask<BlockRegistry> task;
    synchronized (this) {
      if (registry == null) {
        registry = new FutureTask<>(this::load);
        registry.run();
      }
      task = registry;
    }
    try {
      return task.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("Interrupted while loading the drivers");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      } else if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw (Error) e.getCause();
    }
  }

  private BlockRegistry load() throws IOException {
    // Each plugin on a class loader of its own: one that fails to load is skipped with a
    // warning naming it, and the built-in drivers keep working.
    return BlockRegistry.load(Env.class.getClassLoader(), pluginJars(), this::warn);
  }

  /** Plugin jars: {@code plugins/} beside the tool, then --plugin-path, then the environment. */
  List<URL> pluginJars() throws IOException {
    List<String> entries = new ArrayList<>();
    String home = System.getProperty(HOME_PROPERTY);
    if (home != null && !home.isEmpty()) {
      Path dir = Path.of(home, "plugins");
      if (Files.isDirectory(dir)) {
        entries.add(dir.toString());
      }
    }
    for (String p : pluginPath) {
      split(p, entries);
    }
    split(environment.get(PLUGIN_PATH_ENV), entries);
    List<URL> urls = new ArrayList<>();
    for (String e : entries) {
      Path p = Path.of(e);
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          for (Path jar : s.filter(j -> j.toString().endsWith(".jar")).sorted().toList()) {
            urls.add(url(jar));
          }
        }
      } else if (Files.isRegularFile(p)) {
        urls.add(url(p));
      } else {
        throw new BlockException("Plugin path entry '" + e + "' is neither a jar nor a folder");
      }
    }
    return urls;
  }

  private static void split(String value, List<String> into) {
    if (value == null || value.isEmpty()) {
      return;
    }
    for (String s : value.split(File.pathSeparator)) {
      if (!s.isEmpty()) {
        into.add(s);
      }
    }
  }

  private static URL url(Path p) throws BlockException {
    try {
      return p.toAbsolutePath().toUri().toURL();
    } catch (MalformedURLException e) {
      throw new BlockException("Plugin jar '" + p + "' has no usable URL", e);
    }
  }

  /**
   * Opens {@code name} as a file name, or with {@code imageOpts} (qemu's {@code --image-opts}) as
   * an option string describing the whole stack, e.g. {@code
   * driver=raw,file.driver=blkdebug,file.fail-read=1,file.file.filename=x.img}.
   */
  BlockDevice open(String name, boolean imageOpts, String format, boolean readOnly,
      boolean forceShare) throws IOException {
    return open(name, imageOpts, params(format, readOnly, forceShare));
  }

  OpenParams params(String format, boolean readOnly, boolean forceShare) {
    return new OpenParams(format, Map.of(), readOnly, forceShare, this::warn, false);
  }

  /** As {@link #open}, with {@code params} deciding everything but the format. */
  BlockDevice open(String name, boolean imageOpts, OpenParams p) throws IOException {
    if (imageOpts) {
      return registry().open(OptionStrings.split(name), p);
    }
    return registry().open(name, p);
  }

  void warn(String message) {
    err.println(message);
    err.flush();
  }

  /**
   * Where the library's operations send warnings: the registry's come as they are ("WARNING:
   * ..."), the operations' own ("warning: ...") get the tool's name in front.
   */
  Consumer<String> warnings() {
    return m -> warn(m.startsWith("warning: ") ? "blockkit: " + m : m);
  }

  /** Prints {@code blockkit: message} on standard error. */
  void error(String message) {
    err.println("blockkit: " + message);
    err.flush();
  }
}
