package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The command definitions as a user meets them: every positional parameter described, every
 * short flag that has a long form in qemu-img 7.2 has the same long form here, and a mistyped
 * command or option gets a suggestion and a pointer to the help.
 */
class CliManualTest {
  /**
   * qemu-img 7.2's long options that have a short form, per command (its getopt tables):
   * command, short, long.
   */
  private static final String[][] QEMU_LONG_FORMS = {
      {"info", "-f", "--format"}, {"info", "-U", "--force-share"},
      {"check", "-f", "--format"}, {"check", "-r", "--repair"}, {"check", "-U", "--force-share"},
      {"map", "-f", "--format"}, {"map", "-s", "--start-offset"}, {"map", "-l", "--max-length"},
      {"map", "-U", "--force-share"},
      {"convert", "-U", "--force-share"}, {"compare", "-U", "--force-share"},
      {"measure", "-U", "--force-share"},
      {"snapshot", "-U", "--force-share"}, {"bench", "-U", "--force-share"},
  };

  /** qemu-img flags blockkit does not have at all (docs/CLI.md); when one comes, it moves up. */
  private static final String[][] NOT_YET = {{"rebase", "-U"}};

  private static Map<String, CommandLine> commands() throws Exception {
    Map<String, CommandLine> m = new java.util.LinkedHashMap<>();
    for (String name : BlockkitCommand.NAMES) {
      BaseCommand cmd = CommandLine.defaultFactory().create(BlockkitCommand.command(name));
      CommandLine cl = new CommandLine(cmd);
      cmd.configure(cl);
      m.put(name, cl);
    }
    return m;
  }

  @Test
  void everyPositionalParameterHasADescription() throws Exception {
    List<String> missing = new ArrayList<>();
    for (var e : commands().entrySet()) {
      for (PositionalParamSpec p : e.getValue().getCommandSpec().positionalParameters()) {
        if (p.description().length == 0 || p.description()[0].isBlank()) {
          missing.add(e.getKey() + " " + p.paramLabel());
        }
      }
    }
    assertEquals(List.of(), missing, "positional parameters without a description");
  }

  @Test
  void everyShortFlagHasQemuImgsLongForm() throws Exception {
    Map<String, CommandLine> commands = commands();
    List<String> missing = new ArrayList<>();
    for (String[] row : QEMU_LONG_FORMS) {
      CommandLine cl = commands.get(row[0]);
      assertTrue(cl != null, "no command " + row[0]);
      OptionSpec o = cl.getCommandSpec().findOption(row[1]);
      if (o == null || !List.of(o.names()).contains(row[2])) {
        missing.add(row[0] + " " + row[1] + " " + row[2]);
      }
    }
    for (String[] row : NOT_YET) {
      assertEquals(null, commands.get(row[0]).getCommandSpec().findOption(row[1]),
          row[0] + " " + row[1] + " exists now: add it to QEMU_LONG_FORMS");
    }
    for (var e : commands.entrySet()) {
      OptionSpec help = e.getValue().getCommandSpec().findOption("-h");
      if (help == null || !List.of(help.names()).contains("--help")) {
        missing.add(e.getKey() + " -h --help");
      }
    }
    assertEquals(List.of(), missing, "short flags without qemu-img's long form");
  }

  @Test
  void mistypedCommandsAndOptionsGetSuggestionsAndAHelpHint() {
    assertEquals("blockkit: Unknown command 'chekc' (did you mean 'check'?). Try 'blockkit "
        + "--help' for more information", Cli.run("chekc", "x.img").assertOneLineError(1));
    assertEquals("blockkit: Unknown option: '--outptu=json' (did you mean '--output'?). Try "
        + "'blockkit info --help' for more information",
        Cli.run("info", "--outptu=json", "x.img").assertOneLineError(1));
    assertEquals("blockkit: Unknown option: '--fromat' (did you mean '--format'?). Try "
        + "'blockkit map --help' for more information",
        Cli.run("map", "--fromat", "raw", "x.img").assertOneLineError(1));
    assertEquals("blockkit: Missing required parameter: 'FILE'. Try 'blockkit check --help' "
        + "for more information", Cli.run("check").assertOneLineError(1));
    assertEquals("blockkit: Unknown command 'zzzzzz'. Try 'blockkit --help' for more "
        + "information", Cli.run("zzzzzz").assertOneLineError(1));
    assertEquals(List.of(), Suggestions.closest("-Z", List.of("-f", "-q")), "no noise");
  }
}
