package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A convert killed with SIGKILL (no clean-up can run) leaves either no target or a complete one,
 * and a target that existed before is either untouched or completely replaced. The kill lands at
 * a random moment of a real process's life, from JVM start to the end of the run.
 */
class ConvertCrashTest {
  @TempDir
  Path dir;

  @Test
  void killNineLeavesNoTargetOrACompleteOneAndNoHalfFileUnderItsName() throws Exception {
    Interrupted.Rounds r = Interrupted.Rounds.prepare(dir, 48);
    Path target = r.target();
    Pattern staged = Interrupted.stagedName(target);
    byte[] old = new byte[3 << 20];
    r.rnd().nextBytes(old);
    int none = 0;
    int untouched = 0;
    int complete = 0;
    for (int round = 0; round < Interrupted.ROUNDS; round++) {
      boolean existed = round % 2 == 1;
      if (existed) {
        Files.write(target, old);
      }
      long delay = r.nextDelay();
      String where = r.where(round, "SIGKILL, " + (existed ? "existing" : "new") + " target",
          delay);
      Process p = r.start();
      Thread.sleep(delay);
      p.destroyForcibly();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), where + ": the process did not die");
      if (Files.notExists(target)) {
        assertTrue(!existed, where + ": the existing target was removed");
        none++;
      } else if (existed && Files.size(target) == old.length) {
        assertArrayEquals(old, Files.readAllBytes(target), where + ": old target changed");
        untouched++;
      } else {
        assertTrue(Interrupted.identical(r.src(), target, "vdi"), where
            + ": the target is there but differs from the source (half-written)");
        complete++;
      }
      List<String> others = Interrupted.others(r.out(), target);
      for (String name : others) {
        assertTrue(staged.matcher(name).matches(),
            where + ": unexpected file beside the target: " + name);
      }
      Interrupted.empty(r.out());
    }
    System.out.printf("ConvertCrashTest: %d rounds: %d no target, %d old target untouched, "
        + "%d complete%n", Interrupted.ROUNDS, none, untouched, complete);
  }
}
