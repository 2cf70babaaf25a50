package io.blockkit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code blockkit} command. */
@Command(name = "blockkit", mixinStandardHelpOptions = true,
    versionProvider = BlockkitCommand.Version.class,
    description = "Inspect, create, check, convert and compare disk images (qemu-img compatible).",
    subcommands = {InfoCommand.class, CreateCommand.class, CheckCommand.class,
        ConvertCommand.class, MapCommand.class, CompareCommand.class, BenchCommand.class,
        DriversCommand.class},
    footer = {"", "Exit codes and JSON field names follow qemu-img. Run 'blockkit COMMAND --help'."})
final class BlockkitCommand extends BaseCommand {
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
