package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.api.options.Sizes;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code map}: qemu-img map's merged allocation records. */
@Command(name = "map", mixinStandardHelpOptions = true,
    description = "Show where the image's data lives: runs of data, zeros and holes.")
final class MapCommand extends BaseCommand {
  @Option(names = {"-f", "--format"}, paramLabel = "FMT", description = "Image format (probed if absent).")
  String format;

  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Option(names = {"-s", "--start-offset"}, paramLabel = "OFFSET", description = "Start here (default 0).")
  String startOffset;

  @Option(names = {"-l", "--max-length"}, paramLabel = "LENGTH", description = "Map at most this many bytes.")
  String maxLength;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Option(names = {"-U", "--force-share"}, description = "Open even if another process holds the image's lock.")
  boolean forceShare;

  @Parameters(paramLabel = "FILE", description = "The image.")
  String file;

  /** One merged record, with qemu's fields. */
  record Run(long start, long length, int depth, boolean present, boolean zero, boolean data,
      long offset, String file) {

    boolean mergeable(Run next) {
      return next.start == start + length && next.depth == depth && next.present == present
          && next.zero == zero && next.data == data && (offset < 0) == (next.offset < 0)
          && java.util.Objects.equals(file, next.file)
          && (offset < 0 || offset + length == next.offset);
    }

    Run plus(Run next) {
      return new Run(start, length + next.length, depth, present, zero, data, offset, file);
    }
  }

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    long start = startOffset == null ? 0 : Sizes.parse(startOffset, "--start-offset");
    long max = maxLength == null ? Long.MAX_VALUE : Sizes.parse(maxLength, "--max-length");
    try (BlockDevice dev = env.open(file, imageOpts, format, true, forceShare)) {
      long size = dev.size();
      long end = max >= size - Math.min(start, size) ? size : start + max;
      if (json) {
        env.out.print('[');
      } else {
        env.out.printf("%-16s%-16s%-16s%s%n", "Offset", "Length", "Mapped to", "File");
      }
      boolean recurse = asksHost(dev);
      Run cur = null;
      boolean first = true;
      long pos = start;
      while (pos < end) {
        Run next = status(dev, file, pos, end - pos, recurse);
        pos += next.length;
        if (cur != null && cur.mergeable(next)) {
          cur = cur.plus(next);
          continue;
        }
        if (cur != null) {
          first = print(cur, json, first);
        }
        cur = next;
      }
      if (cur == null && json) {
        // qemu prints its (empty) current record even when the range holds nothing
        cur = new Run(start, 0, 0, false, false, false, -1, null);
      }
      if (cur != null) {
        print(cur, json, first);
      }
      if (json) {
        env.out.println(']');
      }
    }
    return 0;
  }

  /**
   * Whether qemu would ask the host file about data runs (its BDRV_BLOCK_RECURSE): only for
   * preallocated images, whose metadata calls every block data although most of it may be holes
   * in the file. The SPI has no such flag, so the format-specific {@code type} tells (VDI's
   * {@code fixed}/{@code static}).
   */
  static boolean asksHost(BlockDevice dev) throws IOException {
    Object type = dev.info().formatSpecific().get("type");
    return type != null && java.util.Set.of("fixed", "static", "preallocated")
        .contains(type.toString().toLowerCase(java.util.Locale.ROOT));
  }

  /**
   * The status at {@code pos}. With {@code recurse}, data stored in a hole of the host file is
   * reported as zero too (it reads as zeros), as qemu does for preallocated images.
   */
  static Run status(BlockDevice dev, String file, long pos, long len, boolean recurse)
      throws IOException {
    Extent e = dev.blockStatus(pos, len);
    long length = e.length();
    boolean zero = e.zero();
    long offset = e.hostOffset();
    BlockDevice host = e.host();
    if (offset < 0 && e.data() && dev.child().isEmpty()) {
      offset = e.offset(); // a protocol node's data lives at the same offset in itself
      host = dev;
    }
    if (recurse && e.data() && !zero && offset >= 0 && host != null && host != dev) {
      long hostSize = host.size();
      if (offset >= hostSize) {
        zero = true;
      } else {
        Extent h = host.blockStatus(offset, Math.min(length, hostSize - offset));
        length = Math.min(length, h.length());
        zero = h.zero();
      }
    }
    String where = host == null || host == dev ? file : host.location();
    return new Run(pos, length, 0, e.allocated(), zero, e.data(), offset,
        offset >= 0 ? where : null);
  }

  private boolean print(Run r, boolean json, boolean first) {
    if (json) {
      if (!first) {
        env.out.print(",\n");
      }
      env.out.print("{ \"start\": " + r.start + ", \"length\": " + r.length + ", \"depth\": "
          + r.depth + ", \"present\": " + r.present + ", \"zero\": " + r.zero + ", \"data\": "
          + r.data + ", \"compressed\": false" + (r.offset >= 0 ? ", \"offset\": " + r.offset : "")
          + "}");
      return false;
    }
    if (r.data && r.offset < 0) {
      throw new CliException(1, "File contains external, encrypted or compressed clusters.");
    }
    if (r.data && !r.zero) {
      env.out.printf("%-16s%-16s%-16s%s%n", hex(r.start), hex(r.length), hex(r.offset),
          r.file == null ? "" : r.file);
    }
    return false;
  }

  /** C's {@code %#x}: no prefix for zero. */
  private static String hex(long v) {
    return v == 0 ? "0" : "0x" + Long.toHexString(v);
  }
}
