package io.blockkit.cli;

import io.blockkit.api.SurrogateEscape;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * Entry point of the {@code blockkit} tool. {@link #run} is the whole tool as a function (arguments
 * in, exit code out), so tests run the real commands in-process.
 */
public final class Main {
  private static final String CONVERTER_EXCLUDES = "picocli.converters.excludes";
  private static final java.util.Set<String> TOP_LEVEL_INFO =
      java.util.Set.of("-h", "--help", "-V", "--version");

  private Main() {}

  public static void main(String[] args) {
    // Without a platform library path JNA runs /sbin/ldconfig -p on every start to make one; the
    // tool only needs libc, which the system loader finds by its soname.
    if (System.getProperty("jna.platform.library.path") == null) {
      System.setProperty("jna.platform.library.path", "");
    }
    // File names are bytes: take the arguments' bytes (the JVM may have lost some decoding them
    // in the locale's charset) and print names back as the same bytes; see HostBytes.
    String[] argv = HostBytes.arguments(args);
    System.setOut(HostBytes.printStream(new BufferedOutputStream(
        new FileOutputStream(FileDescriptor.out), 8192), false));
    System.setErr(HostBytes.printStream(new FileOutputStream(FileDescriptor.err), true));
    PrintWriter out = new PrintWriter(SurrogateEscape.writer(System.out), false);
    PrintWriter err = new PrintWriter(SurrogateEscape.writer(System.err), true);
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, ex) -> reportUncaught(err, ex, List.of(argv).contains("--debug")));
    int code = run(argv, out, err, System.getenv(), System.console() != null);
    out.flush();
    err.flush();
    System.exit(code);
  }

  /**
   * Runs one command.
   *
   * @param terminal whether standard output is a terminal (progress bars instead of lines)
   * @return the exit code qemu-img would give
   */
  public static int run(String[] args, PrintWriter out, PrintWriter err, Map<String, String> env,
      boolean terminal) {
    // picocli registers converters for java.time and java.sql types by reflection; no option
    // here has such a type, and skipping them saves start-up time
    if (System.getProperty(CONVERTER_EXCLUDES) == null) {
      System.setProperty(CONVERTER_EXCLUDES, "java\\.time\\..*,java\\.sql\\..*");
    }
    boolean debug = false;
    boolean versionOnly = false; // --version alone needs no command's model
    List<String> pluginPath = new ArrayList<>();
    String command = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--")) {
        break;
      } else if (a.equals("--debug")) {
        debug = true;
      } else if (a.startsWith("--plugin-path=")) {
        pluginPath.add(a.substring("--plugin-path=".length()));
      } else if (a.equals("--plugin-path") && i + 1 < args.length) {
        pluginPath.add(args[++i]);
      } else if (command == null && !a.startsWith("-")) {
        command = a;
      } else if (command == null && TOP_LEVEL_INFO.contains(a)) {
        command = "--help"; // top-level help lists every command
        versionOnly = a.equals("-V") || a.equals("--version");
      } else if (!a.startsWith("-") || a.equals("-h") || a.equals("--help")) {
        versionOnly = false;
      }
    }
    Env e = new Env(out, err, debug, terminal, pluginPath, env);
    if (command != null && !command.equals("--help")) {
      // the drivers load (and start up) while picocli builds its model and parses
      // and then the file protocol's native access (JNA: its lock query and allocated size)
      e.warmUp(opensHostFiles(command, args) ? new String[] {"file"} : new String[0]);
    }
    Factory factory = new Factory(e);
    CommandLine cl = new CommandLine(new BlockkitCommand(e), factory);
    // Only the command being run; none for --version; all of them for top-level help and
    // unknown names (picocli's "Did you mean" needs them)
    Class<? extends BaseCommand> only = command == null ? null : BlockkitCommand.command(command);
    try {
      List<String> names = versionOnly ? List.of()
          : only == null ? BlockkitCommand.NAMES : List.of(command);
      for (String name : names) {
        BaseCommand sub = factory.create(BlockkitCommand.command(name));
        cl.addSubcommand(name, sub);
        sub.configure(cl.getSubcommands().get(name));
      }
    } catch (Exception ex) {
      return fail(e, ex);
    }
    cl.setOut(out);
    cl.setErr(err);
    cl.setParameterExceptionHandler((ex, a) -> {
      e.error(Errors.oneLine(ex));
      if (e.debug) {
        ex.printStackTrace(err);
      }
      return 1;
    });
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> fail(e, ex));
    int code;
    try {
      code = cl.execute(args);
    } catch (RuntimeException | Error ex) {
      code = fail(e, ex);
    }
    out.flush();
    err.flush();
    return code;
  }

  /**
   * Whether the command is about to open host files (so JNA's load is worth starting early):
   * not for {@code drivers} or {@code measure} (which mostly computes from sizes), nor for help
   * of any kind ({@code --help}, {@code -o help}).
   */
  static boolean opensHostFiles(String command, String[] args) {
    if (command.equals("drivers") || command.equals("measure")
        || BlockkitCommand.command(command) == null) {
      return false;
    }
    for (String a : args) {
      if (a.equals("--")) {
        break;
      }
      if (TOP_LEVEL_INFO.contains(a) || a.equals("help")) {
        return false;
      }
    }
    return true;
  }

  static int fail(Env e, Throwable ex) {
    out(e);
    e.error(Errors.oneLine(ex));
    if (e.debug) {
      StringWriter sw = new StringWriter();
      ex.printStackTrace(new PrintWriter(sw));
      e.err.print(sw);
      e.err.flush();
    }
    return ex instanceof CliException c ? c.exitCode() : 1;
  }

  /**
   * A failure in a helper thread (a worker, a shutdown hook): one line like every error, instead
   * of the JVM's "Exception in thread" stack trace. The command reports its own failure too.
   */
  static void reportUncaught(PrintWriter err, Throwable ex, boolean debug) {
    err.println("blockkit: " + Errors.oneLine(ex));
    if (debug) {
      ex.printStackTrace(err);
    }
    err.flush();
  }

  private static void out(Env e) {
    e.out.flush();
  }

  /** Hands every command the shared {@link Env}. */
  private static final class Factory implements CommandLine.IFactory {
    private final Env env;

    Factory(Env env) {
      this.env = env;
    }

    @Override
    public <K> K create(Class<K> cls) throws Exception {
      K k = CommandLine.defaultFactory().create(cls);
      if (k instanceof BaseCommand b) {
        b.env = env;
      }
      return k;
    }
  }
}
