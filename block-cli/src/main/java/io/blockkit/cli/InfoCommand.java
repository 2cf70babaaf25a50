package io.blockkit.cli;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.SnapshotInfo;
import io.blockkit.api.options.Sizes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code info}: qemu-img info's fields, human or JSON, for the image or its whole chain. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Show the format, sizes and format-specific fields of an image.")
final class InfoCommand extends ImageCommand {
  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Option(names = {"-U", "--force-share"}, description = Texts.FORCE_SHARE)
  boolean forceShare;

  @Option(names = "--backing-chain", description = "Show every image of the backing chain, the "
      + "top first (JSON: a list).")
  boolean backingChain;

  @Parameters(paramLabel = "FILE", arity = "1..*", description = "The image: a path or "
      + "PROTOCOL:NAME. Several images: one block each (JSON: an array).")
  List<String> files;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    return Batch.run(this, files, json, null, Batch.ZERO_IS_BEST, file -> info(file, json));
  }

  private int info(String file, boolean json) throws Exception {
    List<ImageInfo> infos = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<List<SnapshotInfo>> snapshots = new ArrayList<>();
    try (BlockDevice dev = env.open(file, imageOpts, format, true, forceShare)) {
      List<BlockDevice> layers = backingChain ? BackingChain.layers(dev) : List.of(dev);
      for (BlockDevice layer : layers) {
        ImageInfo info = layer.info();
        infos.add(info);
        snapshots.add(layer.snapshots());
        names.add(layer == dev ? file : info.filename());
      }
    }
    if (json) {
      List<Map<String, Object>> all = new ArrayList<>();
      for (int i = 0; i < infos.size(); i++) {
        all.add(toJson(names.get(i), infos.get(i), snapshots.get(i)));
      }
      env.out.println(Json.pretty(backingChain ? all : all.get(0)));
    } else {
      for (int i = 0; i < infos.size(); i++) {
        if (i > 0) {
          env.out.println();
        }
        printHuman(names.get(i), infos.get(i), snapshots.get(i));
      }
    }
    return 0;
  }

  /** qemu's ImageInfo keys, present only when qemu would print them, in the order it does. */
  static Map<String, Object> toJson(String filename, ImageInfo info,
      List<SnapshotInfo> snapshots) {
    BackingLink backing = info.backing();
    Map<String, Object> m = new LinkedHashMap<>();
    if (backing != null && backing.format() != null) {
      m.put("backing-filename-format", backing.format());
    }
    if (!snapshots.isEmpty()) {
      m.put("snapshots", Snapshots.toJson(snapshots));
    }
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
    if (backing != null) {
      m.put("full-backing-filename", backing.fullFilename());
      m.put("backing-filename", backing.filename());
    }
    m.put("dirty-flag", info.dirty());
    return m;
  }

  private void printHuman(String name, ImageInfo info, List<SnapshotInfo> snapshots) {
    var o = env.out;
    o.println("image: " + name);
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
    BackingLink backing = info.backing();
    if (backing != null) {
      o.println("backing file: " + backing.filename()
          + (backing.filename().equals(backing.fullFilename()) ? ""
              : " (actual path: " + backing.fullFilename() + ")"));
      if (backing.format() != null) {
        o.println("backing file format: " + backing.format());
      }
    }
    Snapshots.printTable(o, snapshots);
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
