package io.blockkit.qcow2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory does not grow with the image: a 16 TiB image is created, opened, read, written and
 * checked by a JVM with a 64 MiB heap ({@link LargestImageMain} in a child JVM), and qemu-img
 * checks the result.
 */
class LargestImageTest {
  @TempDir Path dir;

  @Test
  void sixteenTebibytesIn64MiBOfHeap() throws Exception {
    Path img = dir.resolve("huge.qcow2");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx64m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        LargestImageMain.class.getName(), img.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try {
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        throw new AssertionError("the child JVM did not finish in time");
      }
    } catch (IOException | InterruptedException e) {
      throw e;
    } finally {
      p.destroyForcibly();
    }
    System.out.print(out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("OK heap used"), out);
    Tools.requireQemu();
    Tools.Result r = Tools.qemuImg("check", img.toString());
    assertEquals(0, r.exit(), r.out());
  }
}
