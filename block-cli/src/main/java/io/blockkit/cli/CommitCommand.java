package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.ops.Commit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code commit}: qemu-img commit, run by {@link Commit}. */
@Command(name = "commit", mixinStandardHelpOptions = true,
    description = "Write an image's changes into its backing file (or a deeper one with -b).")
final class CommitCommand extends ImageCommand {
  @Option(names = "-b", paramLabel = "BASE", description = "The image of the chain to commit "
      + "into (default: the backing file); implies -d.")
  String base;

  @Option(names = "-d", description = "Keep the image's data (default: empty it afterwards, as "
      + "qemu-img does).")
  boolean keep;

  @Option(names = "-p", description = "Show progress (a bar on a terminal, lines otherwise).")
  boolean progress;

  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Option(names = "-t", paramLabel = "CACHE", description = "Cache mode (accepted for qemu-img "
      + "compatibility; blockkit writes through the page cache, flushing at the end).")
  String cache;

  @Parameters(paramLabel = "FILE", description = "The image whose changes are committed.")
  String file;

  @Override
  public Integer call() throws Exception {
    IoModes.checkCache(cache, "cache");
    try (BlockDevice top = env.open(file, imageOpts,
        env.params(format, false, false).withWritableBacking(true));
        SignalGuard guard = SignalGuard.arm("'" + file + "' was committed")) {
      // qemu-img: -b implies -d, even when BASE is the backing file itself
      Commit.of(top).name(file).base(base).keepTop(keep || base != null)
          .cancellation(guard.token())
          .progress(Progress.of(env, progress && !quiet)).run(env.registry());
    }
    if (!quiet) {
      env.out.println("Image committed.");
    }
    return 0;
  }
}
