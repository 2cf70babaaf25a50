package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.options.Sizes;
import io.blockkit.ops.Resize;
import io.blockkit.ops.ResizeRefusedException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code resize}: qemu-img resize, run by {@link Resize}. Unlike qemu-img, a shrink that would cut
 * off data that reads as non-zero is refused.
 */
@Command(name = "resize", mixinStandardHelpOptions = true,
    description = "Change an image's virtual size: SIZE, +SIZE (grow by) or -SIZE (shrink by).")
final class ResizeCommand extends ImageCommand {
  @Option(names = "--shrink", description = "Allow a smaller size. blockkit still refuses to cut "
      + "off a range that reads as anything but zeros.")
  boolean shrink;

  @Option(names = "--preallocation", paramLabel = "off", description = "Preallocation of the "
      + "new range: only 'off' (blockkit grows images sparse).")
  String preallocation;

  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Parameters(index = "0", paramLabel = "FILE", description = "The image.")
  String file;

  @Parameters(index = "1", paramLabel = "SIZE", description = "The new size, or +/- a change, "
      + "with optional k, M, G, T, P, E suffix (powers of 1024).")
  String size;

  /** "-1G" is a size, not an option, as qemu-img reads its last argument. */
  @Override
  void configure(CommandLine cl) {
    cl.setUnmatchedOptionsArePositionalParams(true);
  }

  @Override
  public Integer call() throws Exception {
    if (preallocation != null && !preallocation.equals("off")) {
      throw new CliException(1, "Unsupported preallocation mode '" + preallocation
          + "': blockkit grows images sparse (only 'off')");
    }
    char sign = size.startsWith("+") || size.startsWith("-") ? size.charAt(0) : 0;
    long amount = Sizes.parse(sign == 0 ? size : size.substring(1),
        "Invalid image size '" + size + "'");
    try (BlockDevice image = env.open(file, imageOpts, format, false, false)) {
      long current = image.size();
      long target = sign == '+' ? current + amount : sign == '-' ? current - amount : amount;
      if (target <= 0 || sign == '+' && target < current) {
        throw new CliException(1, "New image size must be positive");
      }
      try {
        Resize.of(image).to(target).allowShrink(shrink).run();
      } catch (ResizeRefusedException e) {
        if (e.reason() == ResizeRefusedException.Reason.SHRINK_NOT_ALLOWED) {
          throw new CliException(1, "Use the --shrink option to perform a shrink operation.", e);
        }
        throw e;
      }
    }
    if (!quiet) {
      env.out.println("Image resized.");
    }
    return 0;
  }
}
