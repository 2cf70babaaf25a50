package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
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
    return exec("qemu-img", args);
  }

  /** Runs qemu-io (same package as qemu-img), e.g. to write data patterns into an image. */
  static Cli.Result io(String... args) throws IOException, InterruptedException {
    Cli.Result r = exec("qemu-io", args);
    if (r.code() != 0) {
      fail("qemu-io " + String.join(" ", args) + " failed: " + r.err() + r.out());
    }
    return r;
  }

  private static Cli.Result exec(String tool, String... args)
      throws IOException, InterruptedException {
    require();
    List<String> cmd = new ArrayList<>();
    cmd.add(tool);
    cmd.addAll(List.of(args));
    return Proc.run(cmd, java.util.Map.of(), 60);
  }
}
