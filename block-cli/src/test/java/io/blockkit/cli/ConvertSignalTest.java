package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An interrupted convert (Ctrl-C is SIGINT, kill is SIGTERM) removes the target it created. The
 * tool runs in a child JVM reading a slow source, and is signalled once the target exists.
 */
class ConvertSignalTest {
  @TempDir
  Path dir;

  @Test
  void sigintAndSigtermRemoveTheTarget() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/kill")), "needs /bin/kill");
    Path slow = dir.resolve("slow.img");
    Cli.ok("create", "-f", "clitest", "-o", "read-delay-ms=100", slow.toString(), "64M");
    for (String signal : List.of("INT", "TERM")) {
      Path target = dir.resolve("target-" + signal + ".vdi");
      Process p = new ProcessBuilder(Proc.blockkit("convert", "-m", "1", "-f", "clitest", "-O",
          "vdi", slow.toString(), target.toString())).redirectErrorStream(true)
          .redirectOutput(dir.resolve("out-" + signal + ".txt").toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.exists(target) && p.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(Files.exists(target) && p.isAlive(), "convert did not start: "
          + Files.readString(dir.resolve("out-" + signal + ".txt")));
      Thread.sleep(300); // inside the copy loop
      new ProcessBuilder("/bin/kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "convert ignored SIG" + signal);
      assertNotEquals(0, p.exitValue());
      assertTrue(Files.notExists(target), "SIG" + signal + " left the half-written target");
    }
  }
}
