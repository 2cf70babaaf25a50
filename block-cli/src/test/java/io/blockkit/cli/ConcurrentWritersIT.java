package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, item 1, as reported: three {@code ./blockkit bench -w} at different offsets started at
 * the same moment on one VDI, round after round. Each either writes or is refused as locked, and
 * the image always checks clean with blockkit and qemu-img (two writers would allocate one
 * physical block twice). {@code -Dblockkit.lockRounds=N} runs more rounds (default 6); the
 * deterministic proof is LockRaceCliTest, this is the real launcher under real timing.
 */
class ConcurrentWritersIT {
  private static final int ROUNDS = Integer.getInteger("blockkit.lockRounds", 6);
  @TempDir Path dir;

  @Test
  void concurrentWritersNeverShareAnImage() throws Exception {
    Path root = Launcher.root();
    Path cache = dir.resolve("cache");
    Launcher.run(root, cache, Map.of(), "--version"); // builds the start-up cache once
    int refused = 0;
    for (int round = 0; round < ROUNDS; round++) {
      String img = dir.resolve("round" + round + ".vdi").toString();
      assertEquals(0, Launcher.run(root, cache, Map.of(), "create", "-q", "-f", "vdi", img, "64M")
          .code());
      List<CompletableFuture<Cli.Result>> writers = new ArrayList<>();
      for (int w = 0; w < 3; w++) {
        String offset = (w * 16) + "M";
        String pattern = Integer.toString(w + 1);
        writers.add(CompletableFuture.supplyAsync(() -> {
          try {
            return Launcher.run(root, cache, Map.of(), "bench", "-w", "-c", "256", "-d", "8",
                "--pattern", pattern, "-o", offset, img);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }));
      }
      for (CompletableFuture<Cli.Result> f : writers) {
        Cli.Result r = f.join();
        if (r.code() != 0) {
          String line = r.assertOneLineError(1);
          assertTrue(line.contains("locked by another process"), line);
          refused++;
        }
      }
      Cli.Result check = Launcher.run(root, cache, Map.of(), "check", img);
      assertEquals(0, check.code(), "round " + round + ": " + check.out() + check.err());
      if (Qemu.available()) {
        Cli.Result qemu = Qemu.run("check", img);
        assertEquals(0, qemu.code(), "round " + round + ": " + qemu.out() + qemu.err());
      }
    }
    System.err.println("ConcurrentWritersIT: " + ROUNDS + " rounds, " + refused
        + " of " + 3 * ROUNDS + " writers refused as locked");
  }
}
