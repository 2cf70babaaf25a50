package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * "Never allocate from an unchecked field", for real: the largest image the header rules allow
 * (QEMU's limits: 536870784 blocks, a 2 GiB block map) must be opened, read, written and checked
 * by a JVM with a 256 MiB heap. Runs {@link LargestMapMain} in a child JVM; under -Pstress it also
 * discards (compaction) and repairs.
 */
class LargestMapTest {

  @Test
  void largestLegalImageWorksIn256MiBOfHeap() throws Exception {
    boolean full = Boolean.getBoolean("blockkit.stress");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        LargestMapMain.class.getName()));
    if (full) {
      cmd.add("full");
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try {
      if (!p.waitFor(full ? 600 : 180, TimeUnit.SECONDS)) {
        throw new AssertionError("the child JVM did not finish in time");
      }
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | InterruptedException e) {
      p.destroyForcibly();
      throw e;
    } finally {
      p.destroyForcibly();
    }
    System.out.print(out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("OK stored chunks"), out);
  }
}
