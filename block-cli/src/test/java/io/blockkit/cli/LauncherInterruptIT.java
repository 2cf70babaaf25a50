package io.blockkit.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The interruption rounds through the real {@code ./blockkit} launcher on the shaded jar (package
 * phase): signals reach the JVM (the script execs it), and SIGKILL, SIGTERM, SIGINT and SIGHUP
 * at random moments leave no target or a complete one.
 */
class LauncherInterruptIT {
  private static final List<String> SIGNALS = List.of("KILL", "TERM", "INT", "HUP");

  @TempDir
  Path dir;

  @Test
  void signalsAndKillThroughTheLauncher() throws Exception {
    Path root = Launcher.root();
    assumeTrue(Files.isExecutable(Path.of("/bin/kill")), "needs /bin/kill");
    Interrupted.Tool launcher = args -> {
      List<String> cmd = new ArrayList<>(List.of(root.resolve("blockkit").toString()));
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().put("BLOCKKIT_CACHE", dir.resolve("cache").toString());
      pb.environment().put("BLOCKKIT_NO_BUILD", "1");
      return pb;
    };
    Interrupted.timeOneRun(launcher, dir.resolve("warm-up.txt"), "drivers"); // start-up cache
    Interrupted.Rounds r = Interrupted.Rounds.prepare(dir, 32, launcher);
    for (int round = 0; round < Interrupted.ROUNDS; round++) {
      String signal = SIGNALS.get(round % SIGNALS.size());
      long delay = r.nextDelay();
      Process p = r.start();
      Thread.sleep(delay);
      Interrupted.signal(p, signal);
      r.assertOutcome(p, signal, r.where(round, "SIG" + signal, delay));
    }
  }
}
