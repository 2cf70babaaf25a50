package io.blockkit.vmdk;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;

/** qemu-img/qemu-io runs and registry opens for the vmdk tests. */
final class Tools {
  private Tools() {}

  record Result(int exit, String output) {}

  static BlockRegistry registry() throws IOException {
    return BlockRegistry.load();
  }

  static BlockDevice open(Path p, boolean readOnly) throws IOException {
    return open(p, readOnly, Map.of(), w -> { });
  }

  static BlockDevice open(Path p, boolean readOnly, Map<String, String> options,
      Consumer<String> warnings) throws IOException {
    return registry().open(p.toString(), new OpenParams("vmdk", options, readOnly, false,
        warnings, false));
  }

  static void create(Path p, Map<String, String> options) throws IOException {
    registry().create(p.toString(), "vmdk", options);
  }

  static void requireQemu() {
    if (!onPath("qemu-img") || !onPath("qemu-io")) {
      String msg = "qemu-img/qemu-io not on PATH: skipping the vmdk differential tests";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new AssertionError(msg + " (CI=true requires them)");
      }
      System.err.println("SKIPPED: " + msg);
      Assumptions.abort(msg);
    }
  }

  private static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    for (String d : path == null ? new String[0] : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  static Result run(String... cmd) throws IOException {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + String.join(" ", cmd));
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  /** Runs and requires exit 0. */
  static String ok(String... cmd) throws IOException {
    Result r = run(cmd);
    if (r.exit() != 0) {
      throw new AssertionError(String.join(" ", cmd) + " exited " + r.exit() + ":\n"
          + r.output());
    }
    return r.output();
  }

  static String qemuIo(Path img, String... commands) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "vmdk"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(img.toString());
    String out = ok(cmd.toArray(String[]::new));
    if (out.contains("error") || out.contains("failed")) {
      throw new AssertionError("qemu-io " + String.join("; ", commands) + ":\n" + out);
    }
    return out;
  }

  static void writeAll(BlockDevice d, long offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
  }

  static byte[] read(BlockDevice d, long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }
}
