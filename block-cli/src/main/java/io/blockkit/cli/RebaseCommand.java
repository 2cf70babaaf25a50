package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.ops.Rebase;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code rebase}: qemu-img rebase, run by {@link Rebase}. */
@Command(name = "rebase", mixinStandardHelpOptions = true,
    description = "Change an image's backing file, keeping what it reads as (or not, with -u).")
final class RebaseCommand extends ImageCommand {
  @Option(names = "-b", paramLabel = "BACKING", description = "The new backing file (relative to "
      + "the image's folder unless absolute); \"\" for none.")
  String backing;

  @Option(names = "-F", paramLabel = "FMT", description = "Format of the new backing file.")
  String backingFormat;

  @Option(names = "-u", description = "Unsafe: only change the name stored in the image; the old "
      + "backing file need not exist.")
  boolean unsafe;

  @Option(names = "-p", description = "Show progress (a bar on a terminal, lines otherwise).")
  boolean progress;

  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Option(names = "-t", paramLabel = "CACHE", description = "Cache mode (accepted for qemu-img "
      + "compatibility; blockkit writes through the page cache, flushing at the end).")
  String cache;

  @Option(names = "-T", paramLabel = "CACHE", description = "Source cache mode (accepted for "
      + "qemu-img compatibility).")
  String sourceCache;

  @Parameters(paramLabel = "FILE", description = "The image to rebase.")
  String file;

  @Override
  public Integer call() throws Exception {
    IoModes.checkCache(cache, "cache");
    IoModes.checkCache(sourceCache, "source cache");
    if (backing == null && !unsafe) {
      throw new CliException(1, "Must specify backing file (-b) or use unsafe mode (-u)");
    }
    boolean none = backing == null || backing.isEmpty();
    if (!none && backingFormat == null) {
      // qemu-img 7.2 fails here only after the copy; refusing first changes nothing
      throw new CliException(1, "Could not change the backing file to '" + backing
          + "': backing format must be specified");
    }
    // unsafe: the old backing is not read, so it need not exist (qemu opens without it too)
    var params = env.params(format, false, false)
        .withOptions(unsafe ? Map.of("backing", "null") : Map.of());
    try (BlockDevice image = env.open(file, imageOpts, params);
        SignalGuard guard = SignalGuard.arm("'" + file + "' was rebased")) {
      Rebase.of(image).name(imageOpts ? image.location() : file)
          .backing(none ? null : backing, backingFormat).unsafe(unsafe)
          .cancellation(guard.token()).progress(Progress.of(env, progress && !quiet))
          .warnings(env.warnings()).run(env.registry());
    }
    return 0;
  }
}
