package io.blockkit.verify.faults;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.blkdebug.InjectedFaultException;
import io.blockkit.verify.Images;
import io.blockkit.verify.Stress;
import io.blockkit.verify.faults.FaultHarness.Recording;
import io.blockkit.verify.faults.FaultHarness.Target;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every injected failure of a random workload: {@code fail-write=N} for every child write N,
 * {@code fail-flush=N} for every flush, and {@code fail-after-bytes} just past the bytes written
 * before each step (so the step's data write fails, and with a little slack its small metadata
 * writes still fit), each once ({@code once=on}) and permanently. The open device must keep
 * working or fail with an IOException, and what it reads must agree with {@link FailureModel};
 * the storage, reopened without the filter, must check without corruption, repair to clean, and
 * hold for every block contents the model allows (acknowledged data before the last successful
 * flush present, no block holding data no request wrote there).
 */
class InjectedFailureTest {
  /** With a permanent rule, requests after the first failure that still run. */
  private static final int AFTER_PERMANENT_FAILURE = 3;

  static Stream<Target> targets() {
    return Stream.of(PowerLossTest.VDI_1M, PowerLossTest.VDI_512K, PowerLossTest.VDI_512K_EXTRA);
  }

  @ParameterizedTest
  @MethodSource("targets")
  void everyInjectedFailure(Target target) throws IOException {
    long base = Stress.seed();
    int workloads = Stress.iterations(1, 8);
    for (int i = 0; i < workloads; i++) {
      Workload w = Workload.random(base + 1000 + i, target.size(), target.blockSize(), 14);
      Recording rec = FaultHarness.record(target, w);
      for (String rule : rules(rec)) {
        runWithFailure(target, w, rule, "base seed " + base);
      }
    }
  }

  /** The rules to try for a workload whose fault-free run is {@code rec}. */
  static List<String> rules(Recording rec) {
    List<String> rules = new ArrayList<>();
    for (long n = 1; n <= rec.totalWrites(); n++) {
      rules.add("fail-write=" + n + ",once=on");
      rules.add("fail-write=" + n);
    }
    for (long n = 1; n <= rec.totalFlushes(); n++) {
      rules.add("fail-flush=" + n + ",once=on");
      rules.add("fail-flush=" + n);
    }
    long before = 0;
    for (long after : rec.bytes()) {
      for (long slack : new long[] {1, 2048}) {
        if (after > before + slack) {
          rules.add("fail-after-bytes=" + (before + slack) + ",once=on");
          rules.add("fail-after-bytes=" + (before + slack));
        }
      }
      before = after;
    }
    return rules;
  }

  private static void runWithFailure(Target target, Workload w, String rule, String seedNote)
      throws IOException {
    String context = target + ", " + seedNote + ", " + w + ", blkdebug " + rule;
    boolean permanent = !rule.contains("once=on");
    FailureModel model = new FailureModel(w);
    String location = FaultHarness.create(target);
    try {
      int failures = 0;
      int afterFailure = 0;
      BlockDevice d = FaultHarness.openStack(location, rule);
      try {
        for (int j = 0; j < w.ops.size(); j++) {
          if (permanent && failures > 0 && afterFailure++ == AFTER_PERMANENT_FAILURE) {
            break;
          }
          Workload.Op op = w.ops.get(j);
          try {
            op.run(d);
          } catch (IOException e) {
            failures++;
            if (failures == 1 && !(e instanceof InjectedFaultException)) {
              // The first failure must be the injected one itself, not a side effect.
              throw new AssertionError(context + ": step " + j + " (" + op + ") failed with "
                  + e + " instead of the injected fault", e);
            }
            if (op.kind == Workload.Kind.FLUSH) {
              continue;
            }
            String bad = model.failed(op, readAll(d, context + ", after step " + j + " failed"));
            if (bad != null) {
              fail(context + ": after step " + j + " (" + op + ") failed with " + e
                  + ", the open device's " + bad);
            }
            continue;
          }
          if (op.kind == Workload.Kind.FLUSH) {
            model.flushed();
          } else {
            model.succeeded(op);
          }
        }
        assertTrue(FaultHarness.counter(d, "injected-faults") > 0, context + ": rule never fired");
        assertTrue(failures > 0, context + ": the fault fired but no request failed");
        byte[] all = readAll(d, context + ", at the end");
        int at = java.util.Arrays.mismatch(all, model.visible());
        if (at >= 0) {
          fail(context + ": at the end the open device reads byte " + at + " as " + all[at]
              + ", expected " + model.visible()[at]);
        }
      } finally {
        try {
          d.close();
        } catch (IOException e) {
          // Close writes metadata a failed write left behind; with the fault still active it may
          // fail, and must do so cleanly.
          if (!permanent) {
            throw new AssertionError(context + ": close failed after a single fault", e);
          }
        }
      }
      FaultHarness.verifyReopened(location, w, model.storageOracle(), context);
    } finally {
      FaultHarness.delete(location);
    }
  }

  private static byte[] readAll(BlockDevice d, String context) {
    try {
      return Images.readAll(d);
    } catch (IOException e) {
      throw new AssertionError(context + ": the open device cannot read its image: " + e, e);
    }
  }
}
