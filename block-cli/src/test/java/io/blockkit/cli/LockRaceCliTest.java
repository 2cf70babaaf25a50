package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.file.PausingMain;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 9, item 1, through real tool processes: a {@code bench -w} stopped in the gap of its
 * lock protocol while a second blockkit process writes, reads or re-creates the same image. Only
 * one may get in (before the fix, both did: two writers in one VDI); the image checks clean.
 */
class LockRaceCliTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "paused bench -w against {0}")
  @ValueSource(strings = {"bench", "info", "create"})
  void onlyOneProcessGetsIn(String other) throws Exception {
    String img = dir.resolve("race.vdi").toString();
    Cli.ok("create", "-q", "-f", "vdi", img, "64M");
    List<String> paused = new ArrayList<>(Proc.blockkit("bench", "-w", "-c", "64",
        "--pattern", "1", "-o", "0", img));
    paused.set(paused.indexOf(Main.class.getName()), PausingMain.class.getName());
    Process first = new ProcessBuilder(paused).start();
    try {
      BufferedReader err = new BufferedReader(new InputStreamReader(first.getErrorStream(),
          StandardCharsets.UTF_8));
      String line = err.readLine();
      assertEquals(PausingMain.IN_THE_GAP, line, "the first process did not reach the gap");
      CompletableFuture<String> firstOut = CompletableFuture.supplyAsync(() -> drain(first));

      String[] args = switch (other) {
        case "bench" -> new String[] {"bench", "-w", "-c", "64", "--pattern", "2", "-o", "32M",
            img};
        case "info" -> new String[] {"info", img};
        default -> new String[] {"create", "-f", "vdi", img, "64M"};
      };
      Cli.Result second = Proc.run(Proc.blockkit(args), Map.of(), 120);

      first.getOutputStream().write('\n');
      first.getOutputStream().flush();
      assertTrue(first.waitFor(120, TimeUnit.SECONDS), "the paused process did not finish");
      String firstErr = err.lines().reduce("", (a, b) -> a + b + "\n");
      String what = "paused bench -w: exit " + first.exitValue() + " " + firstErr
          + "; " + other + ": exit " + second.code() + " " + second.err();
      int winners = (first.exitValue() == 0 ? 1 : 0) + (second.code() == 0 ? 1 : 0);
      assertEquals(1, winners, "exactly one process may open the image: " + what);
      String loser = first.exitValue() == 0 ? second.err() : firstErr;
      assertTrue(loser.contains("locked by another process"), what);
      firstOut.join();
    } finally {
      first.destroyForcibly();
    }
    Cli.Result check = Cli.run("check", img);
    assertEquals(0, check.code(), check.out() + check.err());
  }

  private static String drain(Process p) {
    try {
      return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
