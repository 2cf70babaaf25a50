package io.blockkit.vhdx;

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
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Shared helpers of the vhdx tests: the registry, reads and writes, qemu-img. */
final class TestImages {
  static final int MIB = 1 << 20;
  private static BlockRegistry registry;

  private TestImages() {}

  static synchronized BlockRegistry registry() throws IOException {
    if (registry == null) {
      registry = BlockRegistry.load();
    }
    return registry;
  }

  static OpenParams params(boolean readOnly) {
    return OpenParams.defaults().withFormat(VhdxDriver.NAME).withReadOnly(readOnly)
        .withWarnings(w -> { });
  }

  static void create(Path file, Map<String, String> options) throws IOException {
    registry().create(file.toString(), VhdxDriver.NAME, options);
  }

  static BlockDevice open(Path file, boolean readOnly) throws IOException {
    return registry().open(file.toString(), params(readOnly));
  }

  static BlockDevice open(String location, boolean readOnly) throws IOException {
    return registry().open(location, params(readOnly));
  }

  /**
   * Copies a memory image into a host file (for qemu-img): sessions with many flushes run on
   * memory, where a flush costs nothing, and qemu-img judges the bytes they left.
   */
  static void dump(String memoryLocation, Path file) throws IOException {
    try (BlockDevice raw = registry().open(memoryLocation,
        OpenParams.readOnlyDefaults().withFormat("raw").withWarnings(w -> { }))) {
      Files.write(file, readAll(raw));
    }
  }

  /** A new memory file {@code memory:name} holding {@code bytes}; returns its location. */
  static String putMemory(String name, byte[] bytes) throws IOException {
    registry().create("memory:" + name, "memory", Map.of());
    try (BlockDevice file = registry().driver("memory").open(
        io.blockkit.api.OpenRequest.of(name, null, false))) {
      file.write(0, ByteBuffer.wrap(bytes));
    }
    return "memory:" + name;
  }

  static byte[] read(BlockDevice d, long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }

  static byte[] readAll(BlockDevice d) throws IOException {
    return read(d, 0, Math.toIntExact(d.size()));
  }

  static void write(BlockDevice d, long offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
  }

  static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  // ---------------------------------------------------------------- qemu

  record Result(int exit, String output) {}

  static boolean ci() {
    return "true".equals(System.getenv("CI"));
  }

  /** Skips the calling test (fails under CI=true) when qemu-img or qemu-io is missing. */
  static void requireQemu() {
    for (String tool : new String[] {"qemu-img", "qemu-io"}) {
      if (!onPath(tool)) {
        String msg = tool + " not on PATH: skipping the qemu differential tests";
        if (ci()) {
          throw new AssertionError(msg + " (CI=true requires it)");
        }
        System.err.println("SKIPPED: " + msg);
        Assumptions.abort(msg);
      }
    }
  }

  private static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String d : path.split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  static Result run(String... cmd) throws IOException {
    List<String> c = new ArrayList<>(List.of(cmd));
    Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
    try {
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
}
