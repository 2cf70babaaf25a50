package io.blockkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** What every subcommand has: the shared {@link Env} and the options valid everywhere. */
abstract class BaseCommand implements Callable<Integer> {
  Env env;

  // Read by Main before parsing (they must work even when parsing fails); declared for --help.
  @Option(names = "--debug", description = "Show stack traces of errors.")
  boolean debug;

  @Option(names = "--plugin-path", paramLabel = "PATH",
      description = "Plugin jars or folders of jars (separated by '${sys:path.separator}'), "
          + "in addition to plugins/ beside the tool and $BLOCKKIT_PLUGIN_PATH.")
  String pluginPath;

  /** Adjusts how picocli parses this command's arguments; nothing by default. */
  void configure(CommandLine cl) {
  }

  /** qemu-img's {@code --output} check. */
  static boolean json(String output) {
    if (output == null || output.equals("human")) {
      return false;
    }
    if (output.equals("json")) {
      return true;
    }
    throw new CliException(1, "--output must be used with human or json as argument.");
  }
}
