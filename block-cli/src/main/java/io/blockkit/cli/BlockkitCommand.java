package io.blockkit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code blockkit} command. */
@Command(name = "blockkit", mixinStandardHelpOptions = true,
    versionProvider = BlockkitCommand.Version.class,
    description = "Inspect, create, check, convert and compare disk images (qemu-img compatible).",
    footer = {"", "Exit codes and JSON field names follow qemu-img. Run 'blockkit COMMAND --help'."})
final class BlockkitCommand extends BaseCommand {
  /** The subcommands' names, in help order: a new command is one entry here and one in {@link #command}. */
  static final List<String> NAMES = List.of("info", "create", "check", "convert", "map", "compare",
      "commit", "rebase", "resize", "amend", "measure", "compact", "bench", "serve", "snapshot",
      "drivers");

  /**
   * The class of the subcommand {@code name}, or null for an unknown name. A switch rather than a
   * map of class literals: a literal is resolved (its class loaded from the jar) only when its
   * case runs, so running one command loads that command's class and no other. {@link Main}
   * registers only that command with picocli when it can tell which one runs: building
   * picocli's model of every command costs start-up time.
   */
  static Class<? extends BaseCommand> command(String name) {
    return switch (name) {
      case "info" -> InfoCommand.class;
      case "create" -> CreateCommand.class;
      case "check" -> CheckCommand.class;
      case "convert" -> ConvertCommand.class;
      case "map" -> MapCommand.class;
      case "compare" -> CompareCommand.class;
      case "commit" -> CommitCommand.class;
      case "rebase" -> RebaseCommand.class;
      case "resize" -> ResizeCommand.class;
      case "amend" -> AmendCommand.class;
      case "measure" -> MeasureCommand.class;
      case "compact" -> CompactCommand.class;
      case "bench" -> BenchCommand.class;
      case "serve" -> ServeCommand.class;
      case "snapshot" -> SnapshotCommand.class;
      case "drivers" -> DriversCommand.class;
      default -> null;
    };
  }

  BlockkitCommand(Env env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    throw new CliException(1, "Not enough arguments: name a command (try 'blockkit --help')");
  }

  /** The project version, filtered into a resource at build time. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      Properties p = new Properties();
      try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          p.load(in);
        }
      }
      return new String[] {"blockkit version " + p.getProperty("version", "unknown"),
          "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name")
              + ")"};
    }
  }
}
