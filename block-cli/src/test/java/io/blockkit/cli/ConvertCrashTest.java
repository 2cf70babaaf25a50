package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
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
    Path src = Interrupted.source(dir.resolve("src.raw"), 48, 1);
    Path out = Files.createDirectory(dir.resolve("out"));
    Path target = out.resolve("target.vdi");
    Path log = dir.resolve("log.txt");
    String[] args = {"convert", "-f", "raw", "-O", "vdi", src.toString(), target.toString()};
    long full = Interrupted.timeOneRun(log, args);
    Interrupted.empty(out);
    long seed = Long.getLong("blockkit.seed", System.nanoTime());
    Random rnd = new Random(seed);
    Pattern staged = Interrupted.stagedName(target);
    byte[] old = new byte[3 << 20];
    rnd.nextBytes(old);
    int none = 0;
    int untouched = 0;
    int complete = 0;
    for (int round = 0; round < Interrupted.ROUNDS; round++) {
      boolean existed = round % 2 == 1;
      if (existed) {
        Files.write(target, old);
      }
      long delay = (long) (rnd.nextDouble() * full * 1.1);
      String where = "round " + round + " (seed " + seed + ", killed after " + delay + " of "
          + full + " ms, target " + (existed ? "existed" : "new") + ")";
      Process p = Interrupted.start(log, args);
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
        assertTrue(Interrupted.identical(src, target, "vdi"), where
            + ": the target is there but differs from the source (half-written)");
        complete++;
      }
      List<String> others = Interrupted.others(out, target);
      for (String name : others) {
        assertTrue(staged.matcher(name).matches(),
            where + ": unexpected file beside the target: " + name);
      }
      Interrupted.empty(out);
    }
    System.out.printf("ConvertCrashTest: %d rounds: %d no target, %d old target untouched, "
        + "%d complete%n", Interrupted.ROUNDS, none, untouched, complete);
  }
}
