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
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * For the crash images of every format under test, every injected failure of a random workload:
 * {@code fail-write=N} for every child write N,
 * {@code fail-flush=N} for every flush, and {@code fail-after-bytes} just past the bytes written
 * before each step (so the step's data write fails, and with a little slack its small metadata
 * writes still fit), each once ({@code once=on}) and permanently. The open device must keep
 * working or fail with an IOException, and what it reads must agree with {@link FailureModel};
 * the storage, reopened without the filter, must check without corruption and repair to clean
 * (where the format checks and repairs), and hold for every block contents the model allows (acknowledged data before the last successful
 * flush present, no block holding data no request wrote there).
 */
class InjectedFailureTest {
  /** With a permanent rule, requests after the first failure that still run. */
  private static final int AFTER_PERMANENT_FAILURE = 3;

  static Stream<Named<Target>> targets() {
    return FaultHarness.memoryTargets();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("targets")
  void everyInjectedFailure(Target target) throws IOException {
    long base = Stress.seed();
    int workloads = Stress.iterations(1, 8);
    for (int i = 0; i < workloads; i++) {
      Workload w = target.workload(base + 1000 + i, 14);
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
    String location = FaultHarness.create(target);
    try {
      Run run = new Run(target, w, location, context);
      int afterFailure = 0;
      BlockDevice d = FaultHarness.openStack(target, location, rule);
      try {
        for (int j = 0; j < w.ops.size(); j++) {
          if (permanent && run.failures > 0 && afterFailure++ == AFTER_PERMANENT_FAILURE) {
            break;
          }
          Workload.Op op = w.ops.get(j);
          if (!run.step(d, op, "step " + j) && op.kind != Workload.Kind.FLUSH) {
            // As a client would: retry the failed request, then flush. A write retried into a
            // block whose metadata the failure left unwritten must still be durable after that.
            run.step(d, op, "retry of step " + j);
            run.step(d, new Workload.Op(Workload.Kind.FLUSH, 0, 0, 0), "flush after step " + j);
          }
        }
        assertTrue(FaultHarness.counter(d, "injected-faults") > 0, context + ": rule never fired");
        assertTrue(run.failures > 0, context + ": the fault fired but no request failed");
        byte[] all = readAll(d, context + ", at the end");
        int at = java.util.Arrays.mismatch(all, run.model.visible());
        if (at >= 0) {
          fail(context + ": at the end the open device reads byte " + at + " as " + all[at]
              + ", expected " + run.model.visible()[at]);
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
      FaultHarness.verifyReopened(target, location, w, run.model.storageOracle(), context);
    } finally {
      Images.delete(location);
    }
  }

  /** One run's model and failure count. */
  private static final class Run {
    final Target target;
    final Workload w;
    final String location;
    final String context;
    final FailureModel model;
    int failures;

    Run(Target target, Workload w, String location, String context) {
      this.target = target;
      this.w = w;
      this.location = location;
      this.context = context;
      this.model = new FailureModel(w);
    }

    /** Runs {@code op} and checks the device against the model; false if it failed (cleanly). */
    boolean step(BlockDevice d, Workload.Op op, String where) throws IOException {
      try {
        op.run(d);
      } catch (IOException e) {
        failures++;
        if (failures == 1 && !(e instanceof InjectedFaultException)) {
          // The first failure must be the injected one itself, not a side effect.
          throw new AssertionError(context + ": " + where + " (" + op + ") failed with " + e
              + " instead of the injected fault", e);
        }
        if (op.kind != Workload.Kind.FLUSH) {
          String bad = model.failed(op, readAll(d, context + ", after " + where + " failed"));
          if (bad != null) {
            fail(context + ": after " + where + " (" + op + ") failed with " + e
                + ", the open device's " + bad);
          }
        }
        return false;
      }
      if (op.kind != Workload.Kind.FLUSH) {
        model.succeeded(op);
        return true;
      }
      model.flushed();
      if (failures > 0) {
        // A flush after a failure must not succeed unless what it acknowledges is durable.
        FaultHarness.verifyCrashCopy(target, location, w, model.storageOracle(),
            context + ", " + where);
      }
      return true;
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
