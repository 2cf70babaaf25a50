package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.options.Sizes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code info}: qemu-img info's fields, human or JSON. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Show the format, sizes and format-specific fields of an image.")
final class InfoCommand extends BaseCommand {
  @Option(names = {"-f", "--format"}, paramLabel = "FMT", description = "Image format (probed if absent).")
  String format;

  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Option(names = {"-U", "--force-share"}, description = "Open even if another process holds the image's lock.")
  boolean forceShare;

  @Option(names = "--backing-chain", description = "Show the whole backing chain; blockkit's "
      + "formats have no backing files, so the chain is the image (JSON: a list of one).")
  boolean backingChain;

  @Parameters(paramLabel = "FILE", description = "The image: a path or PROTOCOL:NAME.")
  String file;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    ImageInfo info;
    try (BlockDevice dev = env.open(file, imageOpts, format, true, forceShare)) {
      info = dev.info();
    }
    if (json) {
      Map<String, Object> one = toJson(file, info);
      env.out.println(Json.pretty(backingChain ? List.of(one) : one));
    } else {
      printHuman(info);
    }
    return 0;
  }

  /** qemu's ImageInfo keys, present only when qemu would print them. */
  static Map<String, Object> toJson(String filename, ImageInfo info) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("virtual-size", info.virtualSize());
    m.put("filename", filename);
    if (info.clusterSize() > 0) {
      m.put("cluster-size", info.clusterSize());
    }
    m.put("format", info.format());
    if (info.actualSize() >= 0) {
      m.put("actual-size", info.actualSize());
    }
    if (!info.formatSpecific().isEmpty()) {
      Map<String, Object> fs = new LinkedHashMap<>();
      fs.put("type", info.format());
      fs.put("data", info.formatSpecific());
      m.put("format-specific", fs);
    }
    m.put("dirty-flag", info.dirty());
    return m;
  }

  private void printHuman(ImageInfo info) {
    var o = env.out;
    o.println("image: " + file);
    o.println("file format: " + info.format());
    o.println("virtual size: " + Sizes.toHuman(info.virtualSize()) + " (" + info.virtualSize()
        + " bytes)");
    o.println("disk size: " + (info.actualSize() >= 0 ? Sizes.toHuman(info.actualSize())
        : "unavailable"));
    if (info.clusterSize() > 0) {
      o.println("cluster_size: " + info.clusterSize());
    }
    if (info.dirty()) {
      o.println("cleanly shut down: no");
    }
    if (!info.formatSpecific().isEmpty()) {
      o.println("Format specific information:");
      dump(info.formatSpecific(), 4);
    }
  }

  /** qemu's layout: {@code key: value}, dashes shown as spaces, nested values indented by 4. */
  private void dump(Map<?, ?> map, int indent) {
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String key = String.valueOf(e.getKey()).replace('-', ' ');
      dumpValue(key, e.getValue(), indent);
    }
  }

  private void dumpValue(String label, Object v, int indent) {
    String pad = " ".repeat(indent);
    if (v instanceof Map<?, ?> m) {
      env.out.println(pad + label + ":");
      dump(m, indent + 4);
    } else if (v instanceof List<?> l) {
      env.out.println(pad + label + ":");
      for (int i = 0; i < l.size(); i++) {
        dumpValue("[" + i + "]", l.get(i), indent + 4);
      }
    } else {
      env.out.println(pad + label + ": " + v);
    }
  }
}
