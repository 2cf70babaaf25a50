package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.ops.Compare;
import io.blockkit.ops.CompareException;
import io.blockkit.ops.CompareResult;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code compare}: qemu-img compare, run by {@link Compare} through both backing chains. Exit 0
 * identical, 1 different, 2 could not open, 3 could not
 * get allocation status, 4 could not read.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
    description = "Compare the guest-visible contents of two images.",
    footer = {"", "Exit codes: 0 identical, 1 different, 2 open error, 3 allocation-status "
        + "error, 4 read error."})
final class CompareCommand extends BaseCommand {
  @Option(names = {"-f"}, paramLabel = "FMT", description = "Format of the first image.")
  String format1;

  @Option(names = {"-F"}, paramLabel = "FMT", description = "Format of the second image.")
  String format2;

  @Option(names = {"-s", "--strict"}, description = "Differing sizes or allocation also count as a difference.")
  boolean strict;

  @Option(names = {"-q", "--quiet"}, description = "Print nothing; only the exit code tells.")
  boolean quiet;

  @Option(names = {"-p", "--progress"}, description = "Show progress (a bar on a terminal, lines otherwise).")
  boolean progress;

  @Option(names = "-T", paramLabel = "CACHE", description = "Source cache mode (accepted for "
      + "qemu-img compatibility; blockkit always reads through the page cache).")
  String sourceCache;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Option(names = {"-U", "--force-share"}, description = "Open even if another process holds the image's lock.")
  boolean forceShare;

  @Parameters(index = "0", paramLabel = "FILE1", description = "The first image (format -f).")
  String file1;

  @Parameters(index = "1", paramLabel = "FILE2", description = "The second image (format -F).")
  String file2;

  @Override
  public Integer call() throws Exception {
    IoModes.checkCache(sourceCache, "source cache");
    BlockDevice a = open(file1, format1);
    try (a; BlockDevice b = open(file2, format2)) {
      CompareResult r;
      try {
        r = Compare.of(a, b).names(file1, file2).strict(strict)
            .progress(Progress.of(env, progress && !quiet)).run();
      } catch (CompareException e) {
        throw new CliException(e.step() == CompareException.Step.BLOCK_STATUS ? 3 : 4,
            e.getMessage(), e);
      }
      // qemu-img warns once it has compared the common part and goes on past it
      long common = Math.min(a.size(), b.size());
      if (r.sizesDiffer() && !strict && (r.identical() || r.offset() >= common)) {
        say("Warning: Image size mismatch!");
      }
      say(switch (r.outcome()) {
        case IDENTICAL -> "Images are identical.";
        case CONTENT_MISMATCH -> "Content mismatch at offset " + r.offset() + "!";
        case SIZE_MISMATCH -> "Strict mode: Image size mismatch!";
        case STATUS_MISMATCH -> "Strict mode: Offset " + r.offset() + " block status mismatch!";
      });
      env.out.flush();
      return r.identical() ? 0 : 1;
    }
  }

  private BlockDevice open(String f, String fmt) {
    try {
      return env.open(f, imageOpts, fmt, true, forceShare);
    } catch (IOException | RuntimeException e) {
      throw new CliException(2, Errors.oneLine(e), e);
    }
  }

  private void say(String line) {
    if (!quiet) {
      env.out.println(line);
    }
  }
}
