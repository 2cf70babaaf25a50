package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.api.options.Sizes;
import io.blockkit.ops.Convert;
import io.blockkit.ops.ConvertResult;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code convert}: qemu-img convert, run by {@link Convert}. A new target appears under its name
 * only when complete: a failed, interrupted ({@link SignalGuard}) or killed convert leaves no
 * half-written image that looks complete. With {@code -n} the existing target is written in place.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
    description = "Copy an image into a new (or, with -n, an existing) image, converting its format.")
final class ConvertCommand extends BaseCommand {
  @Option(names = {"-f"}, paramLabel = "FMT", description = "Source format (probed if absent).")
  String format;

  @Option(names = {"-O"}, paramLabel = "FMT", description = "Target format (default raw).")
  String outFormat = "raw";

  @Option(names = "-o", paramLabel = "OPTIONS", description = "Target create options; 'help' lists them.")
  List<String> options = List.of();

  @Option(names = "-p", description = "Show progress (a bar on a terminal, lines otherwise).")
  boolean progress;

  @Option(names = "--progress", paramLabel = "bar|lines|json",
      description = "Progress style; json prints one JSON object per line.")
  String progressMode;

  @Option(names = "-S", paramLabel = "SIZE",
      description = "Zero runs of at least SIZE inside data are not written (default 4k; 0 = write everything).")
  String sparse = "4k";

  @Option(names = "-n", description = "Do not create the target; write into an existing image.")
  boolean noCreate;

  @Option(names = "-W", description = "Allow out-of-order writes (faster, for preallocated targets).")
  boolean outOfOrder;

  @Option(names = "-m", paramLabel = "N",
      description = "Requests in flight, 1..32 (default: the number of CPUs, at least 2, at most 8).")
  int inFlight = Convert.defaultInFlight();

  @Option(names = "-B", paramLabel = "BACKING", description = "Give the target this backing file "
      + "and copy only what the source's top layer holds (default: flatten the source's chain).")
  String backing;

  @Option(names = "-F", paramLabel = "FMT", description = "Format of the -B backing file.")
  String backingFormat;

  @Option(names = "-l", paramLabel = "SNAPSHOT", description = "Read this internal snapshot of "
      + "the source: NAME_OR_ID, or snapshot.id=ID / snapshot.name=NAME.")
  String snapshotParam;

  @Option(names = "--salvage", description = "Turn unreadable source ranges into zeros, with a warning.")
  boolean salvage;

  @Option(names = "--target-is-zero", description = "With -n: the target already reads as zeros.")
  boolean targetIsZero;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Option(names = "--target-image-opts", description = "DST is an option string describing the "
      + "target stack (needs -n).")
  boolean targetImageOpts;

  @Option(names = "-c", description = "Compress the target (formats that offer compressed "
      + "writes, such as qcow2); writes then complete out of order, compressing in parallel.")
  boolean compress;

  @Option(names = "-C", description = "Copy offload: where source and target are plain files "
      + "(raw to raw), the kernel copies the data; zero runs are still left out as -S says.")
  boolean copyOffload;

  @Option(names = "-t", paramLabel = "CACHE", description = "Target cache mode (accepted for "
      + "qemu-img compatibility; blockkit writes through the page cache, flushing at the end).")
  String targetCache;

  @Option(names = "-T", paramLabel = "CACHE", description = "Source cache mode (accepted for "
      + "qemu-img compatibility; blockkit always reads through the page cache).")
  String sourceCache;

  @Option(names = {"-U", "--force-share"}, description = "Open the source even if another process holds its lock.")
  boolean forceShare;

  @Option(names = {"-q", "--quiet"}, description = "No progress output.")
  boolean quiet;

  @Parameters(index = "0", paramLabel = "SRC", arity = "0..1",
      description = "The source image: a path or PROTOCOL:NAME.")
  String source;

  @Parameters(index = "1", paramLabel = "DST", arity = "0..1",
      description = "The target image, created (replaced if present) unless -n is given.")
  String target;

  @Override
  public Integer call() throws Exception {
    BlockRegistry reg = env.registry();
    Map<String, String> createOpts = new LinkedHashMap<>();
    for (String o : options) {
      Map<String, String> kv = OptionStrings.split(o);
      if (kv.containsKey("help") || kv.containsKey("?")) {
        BlockDriver d = reg.driver(outFormat);
        CreateCommand.printHelp(env, d, d.createOptions(), target == null && source == null);
        return 0;
      }
      createOpts.putAll(kv);
    }
    if (source == null || target == null) {
      throw new CliException(1, "Expecting a source and a target image name");
    }
    long minSparse = Sizes.parse(sparse, "-S");
    if (minSparse % 512 != 0) {
      throw new CliException(1, "Invalid buffer size for sparse output specified. Valid sizes "
          + "are multiples of 512. Select 0 to disable sparse detection (fully allocates "
          + "output).");
    }
    if (inFlight < 1 || inFlight > Convert.MAX_IN_FLIGHT) {
      throw new CliException(1, "Invalid number of coroutines. Allowed number of coroutines is "
          + "between 1 and " + Convert.MAX_IN_FLIGHT);
    }
    IoModes.checkCache(targetCache, "cache");
    IoModes.checkCache(sourceCache, "source cache");
    if (compress && copyOffload) {
      throw new CliException(1, "Cannot enable copy offloading when -c is used");
    }
    if (compress && noCreate) {
      throw new CliException(1, "-c applies to new targets only (not with -n)");
    }
    if (targetIsZero && !noCreate) {
      throw new CliException(1, "--target-is-zero requires use of -n flag");
    }
    if (targetImageOpts && !noCreate) {
      throw new CliException(1, "--target-image-opts requires use of -n flag");
    }
    if (noCreate && !createOpts.isEmpty()) {
      throw new CliException(1, "-o has no effect when skipping image creation (-n)");
    }
    if (backing != null && backingFormat == null) {
      throw new CliException(1, "Use of backing file requires explicit backing format");
    }
    if (backing != null && noCreate) {
      throw new CliException(1, "-B cannot be used with -n: an existing target keeps the "
          + "backing file it has");
    }
    Progress progress = new Progress(env.out, progressMode());
    OpenParams srcParams = env.params(format, true, forceShare).withOptions(snapshotOptions());
    try (BlockDevice src = env.open(source, imageOpts, srcParams)) {
      Convert c = Convert.from(src).sparseSize(minSparse).inFlight(inFlight)
          .outOfOrder(outOfOrder).compress(compress).copyOffload(copyOffload).salvage(salvage).progress(progress).warnings(env.warnings());
      if (noCreate) {
        try (BlockDevice dst = env.open(target, targetImageOpts,
            targetImageOpts ? null : outFormat, false, false)) {
          report(c.into(dst).targetIsZero(targetIsZero).run(reg));
        }
        return 0;
      }
      c.to(target).format(outFormat).options(createOpts);
      if (backing != null) {
        c.backing(backing, backingFormat);
      }
      try (SignalGuard guard = SignalGuard.arm("'" + target + "' was created")) {
        report(c.cancellation(guard.token()).run(reg));
      }
    }
    return 0;
  }

  /** qemu's -l: options when it starts with "snapshot.", else an id or name. */
  private Map<String, String> snapshotOptions() throws java.io.IOException {
    if (snapshotParam != null && snapshotParam.startsWith("snapshot.")) {
      Map<String, String> kv = OptionStrings.split(snapshotParam);
      for (String k : kv.keySet()) {
        if (!k.equals("snapshot.id") && !k.equals("snapshot.name")) {
          throw new CliException(1, "Invalid parameter '" + k + "' in -l: expected snapshot.id "
              + "or snapshot.name");
        }
      }
      return kv;
    }
    return snapshotParam == null ? Map.of() : Map.of("snapshot.name", snapshotParam);
  }

  private Progress.Mode progressMode() {
    if (progressMode != null) {
      return switch (progressMode.toLowerCase(Locale.ROOT)) {
        case "bar" -> Progress.Mode.BAR;
        case "lines" -> Progress.Mode.LINES;
        case "json" -> Progress.Mode.JSON;
        case "none" -> Progress.Mode.NONE;
        default -> throw new CliException(1, "--progress expects bar, lines, json or none, not '"
            + progressMode + "'");
      };
    }
    if (!progress || quiet) {
      return Progress.Mode.NONE;
    }
    return env.terminal ? Progress.Mode.BAR : Progress.Mode.LINES;
  }

  private void report(ConvertResult r) {
    for (ConvertResult.Salvaged s : r.salvaged()) {
      env.warn("blockkit: warning: could not read " + s.length() + " bytes at offset "
          + s.offset() + " of '" + source + "' (" + Errors.oneLine(s.cause())
          + "); wrote zeros instead");
    }
  }
}
