package io.blockkit.cli;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.options.OptionSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code drivers}: every registered driver (built-in and plugins) with its options. */
@Command(name = "drivers", mixinStandardHelpOptions = true,
    description = "List the registered drivers with their features and their open and create "
        + "options.")
final class DriversCommand extends BaseCommand {
  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    List<Map<String, Object>> list = new ArrayList<>();
    for (BlockDriver d : env.registry().drivers()) {
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", d.name());
        m.put("kind", d.kind().name().toLowerCase(Locale.ROOT));
        m.put("description", d.description());
        m.put("source", source(d));
        m.put("features", features(d));
        m.put("open-options", specs(d.openOptions()));
        m.put("create-options", specs(d.createOptions()));
        list.add(m);
      } else {
        env.out.println(d.name() + " (" + d.kind().name().toLowerCase(Locale.ROOT) + "): "
            + d.description());
        List<String> features = features(d);
        env.out.println("  features: " + (features.isEmpty() ? "read-only"
            : String.join(", ", features)));
        if (!d.openOptions().isEmpty()) {
          env.out.println("  open options:");
          CreateCommand.printSpecs(env, d.openOptions(), "    ");
        }
        if (!d.createOptions().isEmpty()) {
          env.out.println("  create options:");
          CreateCommand.printSpecs(env, d.createOptions(), "    ");
        }
      }
    }
    if (json) {
      env.out.println(Json.pretty(list));
    }
    return 0;
  }

  /** The driver's features as lower-case words, in the enum's order. */
  private static List<String> features(BlockDriver d) {
    return java.util.Arrays.stream(DriverFeature.values()).filter(d.features()::contains)
        .map(f -> f.name().toLowerCase(Locale.ROOT)).toList();
  }

  /** The jar (or folder) the driver came from, so plugins can be told apart. */
  private static String source(BlockDriver d) {
    try {
      var cs = d.getClass().getProtectionDomain().getCodeSource();
      return cs == null || cs.getLocation() == null ? "" : cs.getLocation().getPath();
    } catch (SecurityException e) {
      return "";
    }
  }

  private static List<Map<String, Object>> specs(List<OptionSpec> specs) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (OptionSpec s : specs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", s.name());
      m.put("type", s.type().name().toLowerCase(Locale.ROOT));
      if (s.defaultValue() != null) {
        m.put("default", s.defaultValue());
      }
      if (!s.choices().isEmpty()) {
        m.put("choices", s.choices());
      }
      m.put("help", s.help());
      out.add(m);
    }
    return out;
  }
}
