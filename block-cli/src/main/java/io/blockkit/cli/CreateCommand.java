package io.blockkit.cli;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.api.options.OptionType;
import io.blockkit.api.options.Options;
import io.blockkit.api.options.Sizes;
import io.blockkit.ops.Create;
import io.blockkit.registry.BlockRegistry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code create}: qemu-img create, run by {@link Create}. The image appears under its name only
 * when complete; an existing file is replaced, as qemu-img does.
 */
@Command(name = "create", mixinStandardHelpOptions = true,
    description = "Create an image. '-o help' lists the format's options.")
final class CreateCommand extends BaseCommand {
  @Option(names = {"-f", "--format"}, paramLabel = "FMT", description = "Image format (default raw).")
  String format = "raw";

  @Option(names = "-o", paramLabel = "OPTIONS",
      description = "Format options, key=value[,key=value...]; 'help' lists them.")
  List<String> options = List.of();

  @Option(names = {"-q", "--quiet"}, description = "Do not print the 'Formatting' line.")
  boolean quiet;

  @Option(names = "-b", paramLabel = "BACKING", description = "Backing file (relative to the new "
      + "image's folder unless absolute); its size is the default size. Needs -F.")
  String backing;

  @Option(names = "-F", paramLabel = "FMT", description = "Format of the backing file.")
  String backingFormat;

  @Parameters(index = "0", paramLabel = "FILE", arity = "0..1", description = "The new image.")
  String file;

  @Parameters(index = "1", paramLabel = "SIZE", arity = "0..1",
      description = "Virtual size, with optional k, M, G, T, P, E suffix (powers of 1024).")
  String size;

  @Override
  public Integer call() throws Exception {
    BlockRegistry reg = env.registry();
    BlockDriver drv = reg.driver(format);
    Map<String, String> opts = new LinkedHashMap<>();
    for (String o : options) {
      if (o.equals("help") || o.equals("?")) {
        printHelp(env, drv, drv.createOptions(), file == null);
        return 0;
      }
      for (Map.Entry<String, String> e : OptionStrings.split(o).entrySet()) {
        if (e.getKey().equals("help") || e.getKey().equals("?")) {
          printHelp(env, drv, drv.createOptions(), file == null);
          return 0;
        }
        opts.put(e.getKey(), e.getValue());
      }
    }
    if (file == null) {
      throw new CliException(1, "Expecting image file name");
    }
    if (drv.kind() == DriverKind.FILTER) {
      throw new CliException(1, "Driver '" + format + "' is a filter driver and cannot create images");
    }
    if (backing != null && backingFormat == null) {
      throw new CliException(1, file + ": Backing file specified without backing format");
    }
    Create create = Create.image(file).format(format).options(opts).warnings(env.warnings());
    if (size != null) {
      create.size(Sizes.parse(size, "Invalid image size '" + size + "'"));
    }
    if (backing != null) {
      create.backing(backing, backingFormat);
    } else if (backingFormat != null) {
      create.options(withBackingFormat(opts));
    }
    try {
      Options checked = create.checkedOptions(reg);
      if (!quiet) {
        env.out.println("Formatting '" + file + "', fmt=" + format + describe(checked));
        env.out.flush();
      }
      try (SignalGuard guard = SignalGuard.arm("'" + file + "' was created")) {
        create.cancellation(guard.token()).run(reg);
      }
    } catch (ImageAccessException | BackingChainException e) {
      throw e; // already names the file
    } catch (BlockException e) {
      throw new CliException(1, file + ": " + Errors.oneLine(e), e);
    }
    return 0;
  }

  /** -F without -b: the create options name a format alone, which the library refuses. */
  private Map<String, String> withBackingFormat(Map<String, String> opts) {
    Map<String, String> m = new LinkedHashMap<>(opts);
    m.put(Create.BACKING_FORMAT, backingFormat);
    return m;
  }

  /**
   * qemu's " size=67108864 static=off": the size, every option the user gave, and every boolean
   * (a boolean always has a value worth showing), in the driver's order. Other defaults (a
   * generated UUID, an empty comment) are left out, as qemu leaves out options without a default.
   */
  static String describe(Options o) {
    StringBuilder sb = new StringBuilder();
    for (OptionSpec s : o.specs()) {
      if (!s.name().equals("size") && !o.isSet(s.name()) && s.type() != OptionType.BOOL) {
        continue;
      }
      o.get(s.name()).ifPresent(v -> {
        String text = s.type() == OptionType.BOOL ? ((Boolean) v ? "on" : "off") : v.toString();
        sb.append(' ').append(s.name()).append('=').append(text);
      });
    }
    return sb.toString();
  }

  static void printHelp(Env env, BlockDriver drv, List<OptionSpec> specs, boolean noFile) {
    env.out.println("Supported " + drv.name() + " options:");
    printSpecs(env, specs, "  ");
    if (drv.kind() == DriverKind.FORMAT) {
      env.out.println();
      env.out.println("The protocol level may support further options.");
      if (noFile) {
        env.out.println("Specify the target filename to include those options.");
      }
    }
  }

  static void printSpecs(Env env, List<OptionSpec> specs, String indent) {
    int width = 0;
    for (OptionSpec s : specs) {
      width = Math.max(width, label(s).length());
    }
    for (OptionSpec s : specs) {
      StringBuilder line = new StringBuilder(indent).append(label(s));
      line.append(" ".repeat(width - label(s).length())).append(" - ").append(s.help());
      if (s.defaultValue() != null) {
        line.append(" (default: ").append(s.defaultValue()).append(')');
      }
      env.out.println(line);
    }
    if (specs.isEmpty()) {
      env.out.println(indent + "(none)");
    }
  }

  private static String label(OptionSpec s) {
    return s.name() + "=<" + s.describeType() + ">";
  }
}
