package io.blockkit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code blockkit} command. */
@Command(name = "blockkit", mixinStandardHelpOptions = true,
    versionProvider = BlockkitCommand.Version.class,
    description = "Inspect, create, check, convert and compare disk images (qemu-img compatible).",
    footer = {"", "Exit codes and JSON field names follow qemu-img. Run 'blockkit COMMAND --help'."})
final class BlockkitCommand extends BaseCommand {
  /**
   * The subcommands, in help order: a new command is one line here. They are registered by {@link
   * Main}, only the one being run when it can tell which: building picocli's model of every
   * command costs start-up time.
   */
  static final Map<String, Class<? extends BaseCommand>> COMMANDS = commands();

  private static Map<String, Class<? extends BaseCommand>> commands() {
    Map<String, Class<? extends BaseCommand>> m = new LinkedHashMap<>();
    m.put("info", InfoCommand.class);
    m.put("create", CreateCommand.class);
    m.put("check", CheckCommand.class);
    m.put("convert", ConvertCommand.class);
    m.put("map", MapCommand.class);
    m.put("compare", CompareCommand.class);
    m.put("commit", CommitCommand.class);
    m.put("rebase", RebaseCommand.class);
    m.put("resize", ResizeCommand.class);
    m.put("amend", AmendCommand.class);
    m.put("measure", MeasureCommand.class);
    m.put("compact", CompactCommand.class);
    m.put("bench", BenchCommand.class);
    m.put("serve", ServeCommand.class);
    m.put("snapshot", SnapshotCommand.class);
    m.put("drivers", DriversCommand.class);
    return Collections.unmodifiableMap(m);
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
