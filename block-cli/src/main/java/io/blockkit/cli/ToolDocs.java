package io.blockkit.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import picocli.AutoComplete;
import picocli.CommandLine;

/**
 * Build-time generator of the files a distribution installs beside the tool, from the same
 * picocli model the tool parses with: the manual page {@code man/man1/blockkit.1}, bash
 * completion {@code completion/blockkit.bash} (picocli's {@link AutoComplete} script) and
 * {@code completion/blockkit.zsh} (for zsh, which runs the bash script through its bashcompinit
 * layer; picocli's script switches that on itself).
 *
 * <p>Arguments: the output folder, the version, and the build's time stamp ({@code
 * project.build.outputTimestamp}: ISO 8601 or seconds since 1970), whose date the page carries.
 */
public final class ToolDocs {
  private ToolDocs() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      throw new IllegalArgumentException("usage: ToolDocs OUTPUT-FOLDER VERSION TIMESTAMP");
    }
    String stamp = args[2];
    LocalDate date = stamp.matches("\\d+")
        ? LocalDate.ofInstant(Instant.ofEpochSecond(Long.parseLong(stamp)), ZoneOffset.UTC)
        : OffsetDateTime.parse(stamp).toLocalDate();
    Path dir = Path.of(args[0]);
    CommandLine root = model();
    write(dir.resolve("man/man1/blockkit.1"), ManPage.of(root, args[1], date.toString()));
    write(dir.resolve("completion/blockkit.bash"), AutoComplete.bash("blockkit", root));
    write(dir.resolve("completion/blockkit.zsh"), """
        # zsh completion for blockkit: add 'source /path/to/completion/blockkit.zsh' to ~/.zshrc.
        # It loads the bash completion beside it through zsh's bashcompinit.
        source "${0:A:h}/blockkit.bash"
        """);
  }

  /** Every command, as the tool registers it when it has to show them all. */
  static CommandLine model() throws Exception {
    CommandLine root = new CommandLine(new BlockkitCommand(null));
    for (String name : BlockkitCommand.NAMES) {
      BaseCommand sub = CommandLine.defaultFactory().create(BlockkitCommand.command(name));
      root.addSubcommand(name, sub);
      sub.configure(root.getSubcommands().get(name));
    }
    return root;
  }

  private static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }
}
