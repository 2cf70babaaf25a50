package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.ops.Compare;
import io.blockkit.ops.CompareException;
import io.blockkit.ops.CompareResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code compare}: qemu-img compare, run by {@link Compare} through both backing chains. Exit 0
 * identical, 1 different, 2 could not open, 3 could not
 * get allocation status, 4 could not read. Several pairs in one call ({@code A1 B1 A2 B2 ...})
 * are compared one after another by {@link Batch}, each pair's lines under its two names; the
 * exit code is the highest of the pairs' (an error outranks a difference).
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
    description = "Compare the guest-visible contents of two images.",
    footer = {"", "Exit codes: 0 identical, 1 different, 2 open error, 3 allocation-status "
        + "error, 4 read error. Several pairs: the highest of their codes."})
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

  @Option(names = {"-U", "--force-share"}, description = Texts.FORCE_SHARE)
  boolean forceShare;

  @Parameters(paramLabel = "FILE1 FILE2", arity = "2..*", description = "The images to compare: "
      + "the first of a pair has format -f, the second -F. Several pairs (A1 B1 A2 B2 ...): each "
      + "pair compared in turn, its lines under the two names.")
  List<String> files;

  /** Two images to compare. */
  private record Pair(String first, String second) {}

  @Override
  public Integer call() throws Exception {
    IoModes.checkCache(sourceCache, "source cache");
    if (files.size() % 2 != 0) {
      throw new CliException(1, "compare takes images in pairs (FILE1 FILE2 [FILE1 FILE2 ...]),"
          + " but was given " + files.size() + " images");
    }
    List<Pair> pairs = new ArrayList<>();
    for (int i = 0; i < files.size(); i += 2) {
      pairs.add(new Pair(files.get(i), files.get(i + 1)));
    }
    return Batch.run(this, pairs, false,
        p -> Batch.imageLine(p.first()) + "\n" + Batch.imageLine(p.second()),
        code -> code, this::compare);
  }

  private int compare(Pair pair) throws IOException {
    String file1 = pair.first();
    String file2 = pair.second();
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
