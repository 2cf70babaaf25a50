package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Measurement;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.api.options.Sizes;
import io.blockkit.ops.Measure;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code measure}: qemu-img measure, run by {@link Measure}. */
@Command(name = "measure", mixinStandardHelpOptions = true,
    description = "Tell how much storage a new image needs: for a given size, or for a copy of "
        + "FILE.")
final class MeasureCommand extends BaseCommand {
  @Option(names = "-O", paramLabel = "FMT", description = "The new image's format (default raw).")
  String outFormat = "raw";

  @Option(names = "-o", paramLabel = "OPTIONS", description = "The new image's create options; "
      + "'help' lists them.")
  List<String> options = List.of();

  @Option(names = "--size", paramLabel = "SIZE", description = "Measure an empty image of this "
      + "size instead of a copy of FILE.")
  String size;

  @Option(names = {"-f", "--format"}, paramLabel = "FMT", description = "FILE's format (probed if absent).")
  String format;

  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Option(names = {"-U", "--force-share"}, description = "Open FILE even if another process holds its lock.")
  boolean forceShare;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Parameters(paramLabel = "FILE", arity = "0..1", description = "The image a copy of which is "
      + "measured.")
  String file;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    BlockDriver drv = env.registry().driver(outFormat);
    Map<String, String> opts = new LinkedHashMap<>();
    for (String o : options) {
      Map<String, String> kv = OptionStrings.split(o);
      if (kv.containsKey("help") || kv.containsKey("?")) {
        CreateCommand.printHelp(env, drv, drv.createOptions(), file == null);
        return 0;
      }
      opts.putAll(kv);
    }
    if (size != null && file != null) {
      throw new CliException(1, "--size N cannot be used together with a filename.");
    }
    if (size == null && file == null) {
      throw new CliException(1, "Either --size N or one filename must be specified.");
    }
    Measure m = Measure.format(outFormat).options(opts);
    Measurement r;
    if (size != null) {
      r = m.size(Sizes.parse(size, "Invalid image size '" + size + "'")).run(env.registry());
    } else {
      try (BlockDevice source = env.open(file, imageOpts, format, true, forceShare)) {
        r = m.source(source).run(env.registry());
      }
    }
    if (json) {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("required", r.required());
      j.put("fully-allocated", r.fullyAllocated());
      env.out.println(Json.pretty(j));
    } else {
      env.out.println("required size: " + r.required());
      env.out.println("fully allocated size: " + r.fullyAllocated());
    }
    return 0;
  }
}
