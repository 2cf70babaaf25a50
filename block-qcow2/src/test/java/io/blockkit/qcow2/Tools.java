package io.blockkit.qcow2;

import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Test support: the registry, qemu-img and qemu-io, patterns. */
final class Tools {
  private static BlockRegistry registry;

  private Tools() {}

  static synchronized BlockRegistry registry() throws IOException {
    if (registry == null) {
      registry = BlockRegistry.load();
    }
    return registry;
  }

  static OpenParams params(boolean readOnly) {
    return OpenParams.defaults().withFormat("qcow2").withReadOnly(readOnly).withWarnings(w -> { });
  }

  static BlockDevice open(Path p, boolean readOnly) throws IOException {
    return registry().open(p.toString(), params(readOnly));
  }

  static BlockDevice open(String location, Map<String, String> options, boolean readOnly)
      throws IOException {
    Map<String, String> o = new java.util.LinkedHashMap<>(options);
    o.put("filename", location);
    o.putIfAbsent("driver", "qcow2");
    return registry().open(o, OpenParams.defaults().withReadOnly(readOnly).withWarnings(w -> { }));
  }

  static void create(Path p, Map<String, String> options) throws IOException {
    registry().create(p.toString(), "qcow2", options);
  }

  /** One finished process. */
  record Result(int exit, String out) {
    Result expect(int code) {
      if (exit != code) {
        fail("exit " + exit + " (expected " + code + "):\n" + out);
      }
      return this;
    }
  }

  static boolean ci() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Skips (or under CI fails) unless qemu-img and qemu-io are on the PATH. */
  static void requireQemu() {
    for (String tool : new String[] {"qemu-img", "qemu-io"}) {
      boolean found = false;
      for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        found |= Files.isExecutable(Path.of(d, tool));
      }
      if (!found) {
        String msg = tool + " is not on the PATH: the qcow2 differential tests need qemu-utils";
        if (ci()) {
          fail(msg + " (CI=true)");
        }
        System.out.println("SKIPPED: " + msg);
        Assumptions.abort(msg);
      }
    }
  }

  static Result run(String... cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail(String.join(" ", cmd) + " did not finish");
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  static Result qemuImg(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-img"));
    cmd.addAll(Arrays.asList(args));
    return run(cmd.toArray(String[]::new));
  }

  /** qemu-io with one or more -c commands on an image (format qcow2 unless given). */
  static Result qemuIo(Path image, String... commands) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(image.toString());
    return run(cmd.toArray(String[]::new));
  }

  static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }

  static void write(BlockDevice d, long offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
  }

  static byte[] pattern(long seed, int length) {
    byte[] b = new byte[length];
    long x = seed * 0x9E3779B97F4A7C15L + 1;
    for (int i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      b[i] = (byte) x;
    }
    return b;
  }

  static byte[] readFile(Path p) throws IOException {
    return Files.readAllBytes(p);
  }
}
