package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.api.options.Options;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code amend}: qemu-img amend, one call of {@link BlockDevice#amend}. */
@Command(name = "amend", mixinStandardHelpOptions = true,
    description = "Change create options of an existing image. '-o help' lists those the format "
        + "can change.")
final class AmendCommand extends ImageCommand {
  @Option(names = "-o", paramLabel = "OPTIONS",
      description = "Options to change, key=value[,key=value...]; 'help' lists them.")
  List<String> options = List.of();

  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Option(names = "-t", paramLabel = "CACHE", description = "Cache mode (accepted for qemu-img "
      + "compatibility; blockkit writes through the page cache, flushing at the end).")
  String cache;

  @Parameters(paramLabel = "FILE", arity = "0..1", description = "The image.")
  String file;

  @Override
  public Integer call() throws Exception {
    IoModes.checkCache(cache, "cache");
    Map<String, String> opts = new LinkedHashMap<>();
    boolean help = false;
    for (String o : options) {
      Map<String, String> kv = OptionStrings.split(o);
      help |= kv.containsKey("help") || kv.containsKey("?");
      opts.putAll(kv);
    }
    if (help && format != null) {
      printHelp(env.registry().driver(format));
      return 0;
    }
    if (options.isEmpty()) {
      throw new CliException(1, "Must specify options (-o)");
    }
    if (file == null) {
      throw new CliException(1, "Expecting one image file name");
    }
    try (BlockDevice image = env.open(file, imageOpts, format, help, false)) {
      BlockDriver drv = image.driver();
      if (help) {
        printHelp(drv);
        return 0;
      }
      if (!drv.features().contains(DriverFeature.AMEND)) {
        throw new CliException(1, "Format driver '" + drv.name()
            + "' does not support option amendment");
      }
      Options checked;
      try {
        checked = Options.of(opts, drv.amendOptions());
      } catch (InvalidOptionException e) {
        throw new CliException(1, file + ": " + e.getMessage(), e);
      }
      image.amend(checked);
      image.flush();
    }
    return 0;
  }

  private void printHelp(BlockDriver drv) {
    env.out.println("Amend options for '" + drv.name() + "':");
    CreateCommand.printSpecs(env, drv.amendOptions(), "  ");
  }
}
