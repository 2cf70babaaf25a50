package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.options.Sizes;
import io.blockkit.ops.ImageMap;
import io.blockkit.ops.MapEntry;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code map}: qemu-img map's merged allocation records through the backing chain ({@link
 * ImageMap}), each with the depth of the layer that holds it.
 */
@Command(name = "map", mixinStandardHelpOptions = true,
    description = "Show where the image's data lives: runs of data, zeros and holes.")
final class MapCommand extends ImageCommand {
  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Option(names = {"-s", "--start-offset"}, paramLabel = "OFFSET", description = "Start here (default 0).")
  String startOffset;

  @Option(names = {"-l", "--max-length"}, paramLabel = "LENGTH", description = "Map at most this many bytes.")
  String maxLength;

  @Option(names = {"-U", "--force-share"}, description = Texts.FORCE_SHARE)
  boolean forceShare;

  @Parameters(paramLabel = "FILE", arity = "1..*", description = "The image. Several images: "
      + "one map each (JSON: an array of their arrays).")
  List<String> files;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    long start = startOffset == null ? 0 : Sizes.parse(startOffset, "--start-offset");
    long max = maxLength == null ? Long.MAX_VALUE : Sizes.parse(maxLength, "--max-length");
    return Batch.run(this, files, json, Batch::imageLine, Batch.ZERO_IS_BEST,
        file -> map(file, json, start, max));
  }

  private int map(String file, boolean json, long start, long max) throws Exception {
    try (BlockDevice dev = env.open(file, imageOpts, format, true, forceShare)) {
      if (json) {
        env.out.print('[');
      } else {
        env.out.printf("%-16s%-16s%-16s%s%n", "Offset", "Length", "Mapped to", "File");
      }
      boolean[] any = {false};
      ImageMap.of(dev).name(file).start(start).maxLength(max).forEach(e -> {
        print(e, json, !any[0]);
        any[0] = true;
      });
      if (!any[0] && json) {
        // qemu prints its (empty) current record even when the range holds nothing
        print(new MapEntry(start, 0, 0, false, false, false, -1, null), true, true);
      }
      if (json) {
        env.out.println(']');
      }
    }
    return 0;
  }

  private void print(MapEntry r, boolean json, boolean first) {
    if (json) {
      if (!first) {
        env.out.print(",\n");
      }
      env.out.print("{ \"start\": " + r.start() + ", \"length\": " + r.length()
          + ", \"depth\": " + r.depth() + ", \"present\": " + r.present() + ", \"zero\": "
          + r.zero() + ", \"data\": " + r.data() + ", \"compressed\": false"
          + (r.offset() >= 0 ? ", \"offset\": " + r.offset() : "") + "}");
      return;
    }
    if (r.data() && r.offset() < 0) {
      throw new CliException(1, "File contains external, encrypted or compressed clusters.");
    }
    if (r.data() && !r.zero()) {
      env.out.printf("%-16s%-16s%-16s%s%n", hex(r.start()), hex(r.length()), hex(r.offset()),
          r.file() == null ? "" : r.file());
    }
  }

  /** C's {@code %#x}: no prefix for zero. */
  private static String hex(long v) {
    return v == 0 ? "0" : "0x" + Long.toHexString(v);
  }
}
