package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** qemu-img, the reference peer: skipped visibly when missing, required under CI=true. */
final class Qemu {
  private static Boolean available;

  private Qemu() {}

  static synchronized boolean available() {
    if (available == null) {
      try {
        available = new ProcessBuilder("qemu-img", "--version").redirectErrorStream(true)
            .start().waitFor() == 0;
      } catch (IOException e) {
        available = false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        available = false;
      }
    }
    return available;
  }

  static void require() {
    if (available()) {
      return;
    }
    if ("true".equals(System.getenv("CI"))) {
      fail("qemu-img is required under CI=true (install qemu-utils)");
    }
    System.err.println("SKIPPED: qemu-img not found; differential test not run");
    Assumptions.abort("qemu-img not installed");
  }

  static Cli.Result run(String... args) throws IOException, InterruptedException {
    require();
    List<String> cmd = new ArrayList<>();
    cmd.add("qemu-img");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("qemu-img timed out: " + cmd);
    }
    return new Cli.Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }
}
