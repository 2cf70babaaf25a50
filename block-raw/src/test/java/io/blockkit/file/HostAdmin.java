package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Mounts and loop devices for tests of read-only and full file systems and of block devices.
 * They need root with CAP_SYS_ADMIN: without it the test is skipped with a message (even under
 * CI=true, where the machine decides what is possible); with it, a failure to mount fails the
 * test under CI=true and skips it otherwise.
 */
final class HostAdmin {
  private static final int CAP_SYS_ADMIN = 21;

  private HostAdmin() {}

  /** Something to undo when the test ends. */
  interface Undo extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  static void require(String what) {
    String why = null;
    if (!System.getProperty("os.name").equals("Linux")) {
      why = "not Linux";
    } else if (!hasSysAdmin()) {
      why = "not root with CAP_SYS_ADMIN";
    }
    if (why != null) {
      System.err.println("SKIPPED: " + what + " needs mounting or loop devices (" + why + ")");
      Assumptions.abort(what + ": " + why);
    }
  }

  private static boolean hasSysAdmin() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("CapEff:")) {
          long caps = Long.parseUnsignedLong(line.substring(7).trim(), 16);
          return (caps >>> CAP_SYS_ADMIN & 1) != 0;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return false;
    }
    return false;
  }

  /** Runs a command that should work where {@link #require} passed; its stdout. */
  static String run(String what, String... command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out;
    try {
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "hung: " + List.of(command));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    if (p.exitValue() != 0) {
      String msg = what + ": " + String.join(" ", command) + " failed: " + out.trim();
      if ("true".equals(System.getenv("CI"))) {
        fail(msg + " (root with CAP_SYS_ADMIN under CI=true: this should work)");
      }
      System.err.println("SKIPPED: " + msg);
      Assumptions.abort(msg);
    }
    return out;
  }

  /** A tmpfs at {@code at} with mount {@code options} (such as size=64k). */
  static Undo tmpfs(Path at, String options) throws IOException {
    require("a tmpfs");
    run("a tmpfs", "mount", "-t", "tmpfs", "-o", options, "blockkit-test", at.toString());
    return () -> run("unmounting", "umount", at.toString());
  }

  static void remountReadOnly(Path at) throws IOException {
    run("a read-only remount", "mount", "-o", "remount,ro", at.toString());
  }

  /** A loop block device over a file. */
  record Loop(Path device) implements Undo {
    @Override
    public void close() throws IOException {
      run("detaching the loop device", "losetup", "-d", device.toString());
    }
  }

  static Loop loop(Path file) throws IOException {
    require("a loop device");
    return new Loop(Path.of(run("a loop device", "losetup", "-f", "--show", file.toString())
        .trim()));
  }
}
