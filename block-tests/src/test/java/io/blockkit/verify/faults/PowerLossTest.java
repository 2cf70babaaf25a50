package io.blockkit.verify.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.DriverFeature;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import io.blockkit.verify.Stress;
import io.blockkit.verify.faults.FaultHarness.Recording;
import io.blockkit.verify.faults.FaultHarness.Target;
import io.blockkit.verify.formats.CrashImage;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import io.blockkit.verify.formats.QemuCheck;
import io.blockkit.verify.formats.Support;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Simulated power loss at every crash point, for the crash images of every format under test: a
 * random workload runs over {@code FORMAT -> blkdebug (power-loss-after-writes=N) -> protocol} for
 * every N from 0 to the number of child writes the workload makes. blkdebug keeps the first N
 * writes and drops the rest, so the storage holds exactly what a crash after the Nth write leaves.
 * Reopened without the filter, the image must open, check (where the format has one) may find
 * leaks but no corruption, {@code check -r all} (where it repairs) must leave it clean, and every
 * block must hold its contents from before or after the request the crash interrupted (every
 * request before it completed, so all its writes are present, flushed or not).
 */
class PowerLossTest {
  private static final Support<QemuCheck> IN_MEMORY =
      Support.not("the image lives in memory, where qemu-img cannot read it");

  @TempDir
  Path tmp;

  static Stream<Named<Target>> memoryTargets() {
    return FaultHarness.memoryTargets();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("memoryTargets")
  void everyCrashPointOverMemory(Target target) throws IOException {
    long base = Stress.seed();
    int workloads = Stress.iterations(2, 12);
    for (int i = 0; i < workloads; i++) {
      crashEverywhere(target, target.workload(base + i, 18), base, 1, IN_MEMORY);
    }
  }

  /**
   * Each format's first crash image that qemu-img reads (its first one if qemu-img reads none or
   * has no check for it), named with whether qemu-img check judges it.
   */
  static Stream<Named<Target>> fileTargets() {
    return Formats.all().stream().map(f -> {
      Support<QemuCheck> q = qemuCheck(f);
      CrashImage image = f.crashImages().stream()
          .filter(c -> !q.applies() || q.get().reads(c.variant())).findFirst().orElseThrow();
      Target t = new Target(f, image, null);
      return Named.of(t + (q.applies() ? ", with qemu-img check -f " + q.get().format()
          : ", without qemu-img check (" + q.whyNot() + ")"), t);
    });
  }

  /** The format's qemu-img check, if it reads one of its crash images. */
  private static Support<QemuCheck> qemuCheck(FormatUnderTest f) {
    Support<QemuCheck> q = f.qemuCheck();
    if (q.applies() && f.crashImages().stream().noneMatch(c -> q.get().reads(c.variant()))) {
      return Support.not("qemu-img reads none of its crash images");
    }
    return q;
  }

  /**
   * Over a real file: a sample of crash points, and where the format has one, qemu-img check (the
   * reference) on some of them must accept them too.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("fileTargets")
  void crashPointsOverAFile(Target target) throws IOException {
    Support<QemuCheck> qemu = qemuCheck(target.format());
    if (qemu.applies()) {
      Qemu.require("qemu-img");
    }
    long base = Stress.seed();
    crashEverywhere(target.onFile(tmp), target.workload(base, 18), base,
        Stress.iterations(3, 1), qemu);
  }

  /**
   * Runs {@code w} with power lost after every {@code stride}-th number of writes and verifies
   * each result. The expected contents are replayed step by step, so each crash point compares
   * against the state before and after its interrupted step.
   */
  private static void crashEverywhere(Target target, Workload w, long baseSeed, int stride,
      Support<QemuCheck> qemuCheck) throws IOException {
    Recording rec = FaultHarness.record(target, w);
    long total = rec.totalWrites();
    byte[] state = new byte[Math.toIntExact(w.size)];
    int applied = 0;
    int qemuChecks = 0;
    long qemuEvery = Math.max(1, total / stride / 6);
    for (long n = 0; n <= total; n += stride) {
      int j = rec.stepInterruptedAt(n);
      while (applied < j) {
        w.ops.get(applied++).applyTo(0, state);
      }
      byte[] before = state;
      byte[] after = state;
      if (j < w.ops.size()) {
        after = state.clone();
        w.ops.get(j).applyTo(0, after);
      }
      String context = target + ", base seed " + baseSeed + ", " + w + ": power lost after "
          + n + " of " + total + " writes, during step " + j
          + (j < w.ops.size() ? " (" + w.ops.get(j) + ")" : " (all done)");
      String location = FaultHarness.create(target);
      try {
        try (BlockDevice d = FaultHarness.openStack(target, location,
            "power-loss-after-writes=" + n)) {
          for (Workload.Op op : w.ops) {
            try {
              op.run(d);
            } catch (IOException e) {
              // After the power is lost the stack reads stale data (as over dm-flakey's
              // drop_writes) and may fail; nothing it does then reaches the storage.
              if (FaultHarness.counter(d, "dropped-writes") == 0) {
                throw new AssertionError(context + ": " + op + " failed before the power loss", e);
              }
              break;
            }
          }
        }
        // About seven samples: every qemuEvery-th point, and the last one.
        boolean qemu = qemuCheck.applies()
            && (n % (qemuEvery * stride) == 0 || n + stride > total);
        if (qemu) {
          qemuChecks++;
          Qemu.Result r = Qemu.img("check", "-f", qemuCheck.get().format(), location);
          String problem = qemuCheck.get().crashImageProblem(r);
          if (problem != null) {
            fail(context + ": " + problem);
          }
        }
        byte[] b0 = before;
        byte[] b1 = after;
        FaultHarness.verifyReopened(target, location, w, (block, image) -> {
          if (w.sameBlock(image, b0, block) || w.sameBlock(image, b1, block)) {
            return null;
          }
          return "holds neither its old contents (" + w.describeBlock(image, b0, block)
              + ") nor its new ones (" + w.describeBlock(image, b1, block) + ")";
        }, context);
        if (qemu && target.format().has(DriverFeature.REPAIR)) {
          Qemu.Result r = Qemu.img("check", "-f", qemuCheck.get().format(), location);
          assertEquals(0, r.exitCode(), context + ": qemu-img check after repair:\n" + r.stdout()
              + r.stderr());
        }
      } finally {
        Images.delete(location);
      }
    }
    if (qemuCheck.applies()) {
      assertTrue(qemuChecks >= 3, "only " + qemuChecks + " qemu-img checks ran");
    }
  }
}
