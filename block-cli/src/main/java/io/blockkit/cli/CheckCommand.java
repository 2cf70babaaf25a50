package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.ops.Check;
import io.blockkit.ops.CheckResult;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code check}: qemu-img check, run by {@link Check}, with its exit codes: 0 clean, 1 check could not complete, 2
 * corruptions, 3 leaks only, 63 the format cannot check (or cannot repair).
 */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Check an image's metadata for consistency, optionally repairing it.",
    footer = {"", "Exit codes: 0 no errors, 1 check not completed, 2 corruptions, "
        + "3 leaked clusters only, 63 the format does not support checks."})
final class CheckCommand extends ImageCommand {
  static final int EXIT_FAILED = 1;
  static final int EXIT_CORRUPT = 2;
  static final int EXIT_LEAKS = 3;
  static final int EXIT_UNSUPPORTED = 63;
  /** Findings of one kind printed before the rest are summed up in one line. */
  static final int MESSAGES_PER_KIND = 50;
  private static final java.util.Set<String> KINDS = java.util.Set.of("ERROR", "Leaked",
      "Check error");

  @Option(names = "--output", paramLabel = "human|json", description = "Output format (default human).")
  String output;

  @Option(names = {"-r", "--repair"}, paramLabel = "leaks|all",
      description = "Repair leaked clusters only, or all inconsistencies.")
  String repair;

  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Option(names = "-T", paramLabel = "CACHE", description = "Cache mode (accepted for qemu-img "
      + "compatibility; blockkit always reads through the page cache).")
  String cache;

  @Option(names = {"-U", "--force-share"}, description = Texts.FORCE_SHARE)
  boolean forceShare;

  @Parameters(paramLabel = "FILE", arity = "1..*", description = "The image. Several images: "
      + "one report each (JSON: an array); the exit code is the worst.")
  List<String> files;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    IoModes.checkCache(cache, "source cache");
    CheckMode mode = CheckMode.REPORT;
    if (repair != null) {
      mode = switch (repair) {
        case "leaks" -> CheckMode.REPAIR_LEAKS;
        case "all" -> CheckMode.REPAIR_ALL;
        default -> throw new CliException(1,
            "--repair (-r) expects 'leaks' or 'all', not '" + repair + "'");
      };
      if (forceShare) {
        throw new CliException(1, "--force-share/-U is incompatible with --repair (-r)");
      }
    }
    CheckMode m = mode;
    return Batch.run(this, files, json, Batch::imageLine, CheckCommand::severity, file -> check(file, m, json));
  }

  /**
   * Worst last: no errors, a format that cannot be checked, leaks, corruptions, and worst an image
   * that could not be checked at all.
   */
  static int severity(int exitCode) {
    return switch (exitCode) {
      case 0 -> 0;
      case EXIT_UNSUPPORTED -> 1;
      case EXIT_LEAKS -> 2;
      case EXIT_CORRUPT -> 3;
      default -> 4;
    };
  }

  private int check(String file, CheckMode mode, boolean json) throws Exception {
    BlockDevice dev = env.open(file, imageOpts, format, mode == CheckMode.REPORT,
        forceShare);
    try (dev) {
      CheckResult result;
      try {
        result = Check.of(dev).mode(mode).run();
      } catch (UnsupportedFeatureException e) {
        throw new CliException(EXIT_UNSUPPORTED, e.getMessage() == null
            ? "This image format does not support checks" : e.getMessage(), e);
      } catch (IOException e) {
        throw new CliException(EXIT_FAILED, "Check failed: " + Errors.oneLine(e), e);
      }
      CheckReport r = result.first();
      long leaksFixed = r.leaksFixed();
      long corruptionsFixed = r.corruptionsFixed();
      printMessages(r, json);
      if (result.recheck() != null) {
        if (!json && !quiet) {
          env.out.printf(Locale.ROOT, "The following inconsistencies were found and repaired:%n%n"
              + "    %d leaked clusters%n    %d corruptions%n%n"
              + "Double checking the fixed image now...%n", leaksFixed, corruptionsFixed);
          env.out.flush();
        }
        r = result.recheck();
        printMessages(r, json);
      }
      if (!quiet) {
        if (json) {
          env.out.println(Json.pretty(toJson(file, dev.driver().name(), r, leaksFixed,
              corruptionsFixed)));
        } else {
          printHuman(r);
        }
      }
      env.out.flush();
      if (r.checkErrors() != 0) {
        env.error("Check failed");
        return EXIT_FAILED;
      }
      return r.corruptions() != 0 ? EXIT_CORRUPT : r.leaks() != 0 ? EXIT_LEAKS : 0;
    }
  }

  /**
   * The driver's findings go to standard error, as qemu's drivers print theirs; JSON output
   * carries the counts alone, so no human line goes with it. A badly damaged image has thousands
   * of findings of one kind: the first {@link #MESSAGES_PER_KIND} of each kind ({@code ERROR},
   * {@code Leaked}, {@code Check error}, others) are printed, then one line per kind says how many
   * more there are (drivers may cap their own lists further). The counts in the report are exact
   * either way.
   */
  private void printMessages(CheckReport r, boolean json) {
    if (json) {
      return;
    }
    Map<String, Integer> seen = new LinkedHashMap<>();
    for (String m : r.messages()) {
      int colon = m.indexOf(':');
      String kind = colon > 0 && KINDS.contains(m.substring(0, colon)) ? m.substring(0, colon) : "";
      int n = seen.merge(kind, 1, Integer::sum);
      if (n <= MESSAGES_PER_KIND) {
        env.err.println(m);
      }
    }
    seen.forEach((kind, n) -> {
      if (n > MESSAGES_PER_KIND) {
        env.err.println("... and " + (n - MESSAGES_PER_KIND) + " more "
            + (kind.isEmpty() ? "messages" : "'" + kind + ":' lines") + " not shown");
      }
    });
    env.err.flush();
  }

  static Map<String, Object> toJson(String file, String format, CheckReport r, long leaksFixed,
      long corruptionsFixed) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("filename", file);
    m.put("format", format);
    m.put("check-errors", r.checkErrors());
    putIfSet(m, "corruptions", r.corruptions());
    putIfSet(m, "leaks", r.leaks());
    putIfSet(m, "corruptions-fixed", corruptionsFixed);
    putIfSet(m, "leaks-fixed", leaksFixed);
    putIfSet(m, "image-end-offset", r.imageEndOffset());
    putIfSet(m, "total-clusters", r.totalClusters());
    putIfSet(m, "allocated-clusters", r.allocatedClusters());
    putIfSet(m, "fragmented-clusters", r.fragmentedClusters());
    putIfSet(m, "compressed-clusters", r.compressedClusters());
    return m;
  }

  /** qemu prints these only when non-zero; -1 means unknown here. */
  private static void putIfSet(Map<String, Object> m, String key, long v) {
    if (v > 0) {
      m.put(key, v);
    }
  }

  private void printHuman(CheckReport r) {
    var o = env.out;
    if (r.corruptions() == 0 && r.leaks() == 0 && r.checkErrors() == 0) {
      o.println("No errors were found on the image.");
    } else {
      if (r.corruptions() != 0) {
        o.printf(Locale.ROOT, "%n%d errors were found on the image.%n"
            + "Data may be corrupted, or further writes to the image may corrupt it.%n",
            r.corruptions());
      }
      if (r.leaks() != 0) {
        o.printf(Locale.ROOT, "%n%d leaked clusters were found on the image.%n"
            + "This means waste of disk space, but no harm to data.%n", r.leaks());
      }
      if (r.checkErrors() != 0) {
        o.printf(Locale.ROOT, "%n%d internal errors have occurred during the check.%n",
            r.checkErrors());
      }
    }
    if (r.totalClusters() > 0 && r.allocatedClusters() > 0) {
      long frag = Math.max(0, r.fragmentedClusters());
      o.printf(Locale.ROOT, "%d/%d = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed "
          + "clusters%n", r.allocatedClusters(), r.totalClusters(),
          r.allocatedClusters() * 100.0 / r.totalClusters(),
          frag * 100.0 / r.allocatedClusters(),
          Math.max(0, r.compressedClusters()) * 100.0 / r.allocatedClusters());
    }
    if (r.imageEndOffset() > 0) {
      o.println("Image end offset: " + r.imageEndOffset());
    }
  }
}
