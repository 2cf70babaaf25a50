package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An interrupted convert (Ctrl-C is SIGINT, kill is SIGTERM, a closed terminal SIGHUP) removes
 * what it created, whenever the signal comes: no target, no staged file, and no internal error
 * text. The tool runs in a child JVM.
 */
class ConvertSignalTest {
  private static final List<String> SIGNALS = List.of("INT", "TERM", "HUP");

  @TempDir
  Path dir;

  @BeforeEach
  void needsKill() {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/kill")), "needs /bin/kill");
  }

  /** After an interrupted run: nothing in {@code out}. */
  private static void assertCleanlyInterrupted(Process p, Path out, Path log, String where)
      throws Exception {
    Interrupted.assertEnds(p, log, where);
    assertNotEquals(0, p.exitValue(), where + ": not interrupted");
    assertEquals(List.of(), Interrupted.others(out),
        where + ": left behind; output: " + Interrupted.read(log));
  }

  @Test
  void signalsInsideTheCopyLoopRemoveTheTarget() throws Exception {
    Path slow = dir.resolve("slow.img");
    Cli.ok("create", "-f", "clitest", "-o", "read-delay-ms=100", slow.toString(), "64M");
    Path out = Files.createDirectory(dir.resolve("out"));
    for (String signal : SIGNALS) {
      Path target = out.resolve("target-" + signal + ".vdi");
      Path log = dir.resolve("out-" + signal + ".txt");
      Process p = Interrupted.start(log, "convert", "-m", "1", "-f", "clitest", "-O", "vdi",
          slow.toString(), target.toString());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (Interrupted.others(out).isEmpty() && p.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(!Interrupted.others(out).isEmpty() && p.isAlive(),
          "convert did not start: " + Interrupted.read(log));
      Thread.sleep(300); // inside the copy loop
      Interrupted.signal(p, signal);
      assertCleanlyInterrupted(p, out, log, "SIG" + signal);
    }
  }

  /**
   * The signal comes while the target is being created (a fully preallocated VDI takes a while to
   * write): the clean-up must already be armed, or the new file stays behind.
   */
  @Test
  void signalsWhileTheTargetIsCreatedRemoveIt() throws Exception {
    Path src = dir.resolve("src.raw");
    Cli.ok("create", "-f", "raw", src.toString(), "256M");
    Path out = Files.createDirectory(dir.resolve("out"));
    for (String signal : SIGNALS) {
      Path target = out.resolve("target-" + signal + ".vdi");
      Path log = dir.resolve("out-" + signal + ".txt");
      Process p = Interrupted.start(log, "convert", "-f", "raw", "-O", "vdi", "-o",
          "preallocation=full", src.toString(), target.toString());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (Interrupted.others(out).isEmpty() && p.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      Interrupted.signal(p, signal);
      assertCleanlyInterrupted(p, out, log, "SIG" + signal + " during create");
      Interrupted.empty(out);
    }
  }

  /**
   * Signals at random moments, from JVM start to after the end: the staged file never stays, and
   * a target is there only when complete (a signal after the image was moved into place).
   */
  @Test
  void signalsAtRandomMomentsLeaveNothingOrACompleteTarget() throws Exception {
    Interrupted.Rounds r = Interrupted.Rounds.prepare(dir, 32);
    for (int round = 0; round < Interrupted.ROUNDS; round++) {
      String signal = SIGNALS.get(round % SIGNALS.size());
      long delay = r.nextDelay();
      String where = r.where(round, "SIG" + signal, delay);
      Process p = r.start();
      Thread.sleep(delay);
      Interrupted.signal(p, signal);
      r.assertOutcome(p, signal, where);
    }
  }
}
