package io.blockkit.cli;

import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The {@code blockkit(1)} manual page in troff ({@code man} macros), written from picocli's model
 * of the commands, so that every option and parameter {@code --help} shows is in the page and
 * nothing else has to be kept in step. Written directly rather than through picocli-codegen's
 * AsciiDoc, which would need Asciidoctor (a Ruby runtime) at build time to become troff.
 */
final class ManPage {
  private final StringBuilder out = new StringBuilder();

  private ManPage() {}

  /**
   * The page for {@code root} and its subcommands.
   *
   * @param version the tool's version, for the page's footer
   * @param date the page's date (YYYY-MM-DD), fixed by the build so the page is reproducible
   */
  static String of(CommandLine root, String version, String date) {
    ManPage p = new ManPage();
    p.write(root.getCommandSpec(), version, date);
    return p.out.toString();
  }

  private void write(CommandSpec root, String version, String date) {
    String name = root.name();
    line(".TH " + name.toUpperCase(Locale.ROOT) + " 1 " + quoted(date) + " "
        + quoted(name + " " + version) + " " + quoted("User Commands"));
    // no hyphenation, ragged right: option names and values stay whole and copyable
    line(".nh");
    line(".ad l");
    line(".SH NAME");
    line(escape(name) + " \\- " + escape(sentence(root.usageMessage().description())));
    line(".SH SYNOPSIS");
    synopsis(root);
    line(".SH DESCRIPTION");
    paragraphs(root.usageMessage().description());
    paragraphs(root.usageMessage().footer());
    line(".SH OPTIONS");
    line("These options are accepted by every command.");
    options(root, null);
    line(".SH COMMANDS");
    for (CommandLine sub : root.subcommands().values()) {
      CommandSpec s = sub.getCommandSpec();
      line(".SS " + quoted(s.qualifiedName()));
      synopsis(s);
      paragraphs(s.usageMessage().description());
      for (PositionalParamSpec p : s.positionalParameters()) {
        if (!p.hidden()) {
          item("\\fI" + escape(p.paramLabel()) + "\\fR", p);
        }
      }
      options(s, root);
      paragraphs(s.usageMessage().footer());
    }
    line(".SH ENVIRONMENT");
    definition("JAVA_HOME", "The Java (17 or later) blockkit runs on, unless the installation "
        + "has a runtime/ folder of its own; without it, java on the PATH.");
    definition("BLOCKKIT_PLUGIN_PATH", "Plugin jars or folders of jars, in addition to plugins/ "
        + "beside the tool and --plugin-path.");
    definition("BLOCKKIT_JAVA_OPTS", "Extra options for the Java virtual machine, such as "
        + "-Xmx2g or -Djavax.net.ssl.trustStore=FILE.");
    definition("BLOCKKIT_CACHE", "Where the launcher keeps its start-up cache (default "
        + "$XDG_CACHE_HOME/blockkit, or ~/.cache/blockkit).");
    definition("BLOCKKIT_CDS", "off: start without the class-data sharing archive.");
    line(".SH FILES");
    definition("plugins/", "Plugin jars in this folder of the installation are loaded like "
        + "built-in drivers and listed by 'blockkit drivers'.");
    line(".SH SEE ALSO");
    line(".BR qemu-img (1),");
    line(".BR qemu-nbd (1)");
  }

  private void synopsis(CommandSpec spec) {
    // picocli's own synopsis, unwrapped: the same text --help prints
    String text = new CommandLine.Help(spec, new CommandLine.Help.ColorScheme.Builder(
        CommandLine.Help.Ansi.OFF).build()).synopsis(0).strip().replaceAll("\\s+", " ");
    String prefix = spec.qualifiedName();
    String rest = text.startsWith(prefix) ? text.substring(prefix.length()).strip() : text;
    line(".PP");
    line(".B " + escape(prefix));
    if (!rest.isEmpty()) {
      line(escape(rest));
    }
  }

  /** The options of {@code spec}, but those {@code common} has (documented once, in OPTIONS). */
  private void options(CommandSpec spec, CommandSpec common) {
    for (OptionSpec o : spec.options()) {
      if (o.hidden() || common != null && common.findOption(o.longestName()) != null) {
        continue;
      }
      StringBuilder head = new StringBuilder();
      for (String n : o.names()) {
        head.append(head.length() == 0 ? "" : ", ").append("\\fB").append(escape(n))
            .append("\\fR");
      }
      if (o.arity().max() > 0) {
        head.append("=\\fI").append(escape(o.paramLabel())).append("\\fR");
      }
      item(head.toString(), o);
    }
  }

  private void item(String head, ArgSpec arg) {
    line(".TP");
    line(head);
    String[] text = arg.description();
    line(escape(text.length == 0 ? "" : String.join(" ", text).replace("%n", " ")
        .replace("%%", "%")));
  }

  private void definition(String term, String text) {
    line(".TP");
    line(".B " + escape(term));
    line(escape(text));
  }

  private void paragraphs(String[] lines) {
    for (String l : lines) {
      if (!l.isBlank()) {
        line(".PP");
        line(escape(l.replace("%n", " ").replace("%%", "%")));
      }
    }
  }

  private static String sentence(String[] description) {
    String s = description.length == 0 ? "" : description[0].strip();
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private void line(String s) {
    out.append(s).append('\n');
  }

  private static String quoted(String s) {
    return "\"" + escape(s).replace("\"", "\\(dq") + "\"";
  }

  /**
   * Text as troff reads it literally: backslashes and hyphens (which troff would render as
   * hyphenation points, so a copied option would not work) escaped, and a control character at
   * the start of a line neutralised.
   */
  static String escape(String s) {
    String e = s.replace("\\", "\\e").replace("-", "\\-").replace('\n', ' ');
    return e.startsWith(".") || e.startsWith("'") ? "\\&" + e : e;
  }
}
