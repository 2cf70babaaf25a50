package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.options.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code compact}: blockkit's own (qemu-img has none; VirtualBox's {@code VBoxManage modifymedium
 * --compact} is the model). One call of {@link BlockDevice#compact}: blocks that read as zeros or
 * as the backing's content are released and the file shrinks, the content unchanged.
 */
@Command(name = "compact", mixinStandardHelpOptions = true,
    description = "Give unused space back: release blocks that read as zeros (or as the backing "
        + "file), and shrink the file. The content does not change.")
final class CompactCommand extends ImageCommand {
  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Parameters(paramLabel = "FILE", description = "The image.")
  String file;

  @Override
  public Integer call() throws Exception {
    long before;
    long after;
    try (BlockDevice image = env.open(file, imageOpts, format, false, false)) {
      before = image.allocatedSize();
      image.compact();
      image.flush();
      after = image.allocatedSize();
    }
    if (!quiet) {
      env.out.println(before >= 0 && after >= 0 ? "Image compacted (disk size "
          + Sizes.toHuman(before) + " -> " + Sizes.toHuman(after) + ")." : "Image compacted.");
    }
    return 0;
  }
}
