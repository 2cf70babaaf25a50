package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Test helpers: the registry, whole-image I/O, qemu-img. */
final class Vhds {
  private static BlockRegistry registry;

  private Vhds() {}

  static synchronized BlockRegistry registry() throws IOException {
    if (registry == null) {
      registry = BlockRegistry.load();
    }
    return registry;
  }

  static OpenParams params(String format, boolean readOnly, List<String> warnings) {
    return OpenParams.defaults().withFormat(format).withReadOnly(readOnly)
        .withWarnings(warnings == null ? w -> { } : warnings::add);
  }

  static BlockDevice open(String location, boolean readOnly) throws IOException {
    return registry().open(location, params(null, readOnly, null));
  }

  static BlockDevice open(String location, String format, boolean readOnly) throws IOException {
    return registry().open(location, params(format, readOnly, null));
  }

  static void create(String location, Map<String, String> options) throws IOException {
    registry().create(location, VpcDriver.NAME, options);
  }

  static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }

  static byte[] readAll(BlockDevice d) throws IOException {
    return read(d, 0, Math.toIntExact(d.size()));
  }

  static void write(BlockDevice d, long offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
  }

  static byte[] pattern(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    if (length > 0 && b[0] == 0) {
      b[0] = 1;
    }
    return b;
  }

  // ---------------------------------------------------------------- qemu

  record Result(int exitCode, String stdout, String stderr) {
    Result expect(int code) {
      if (exitCode != code) {
        throw new AssertionError("exit " + exitCode + " (expected " + code + ")\n" + stdout
            + stderr);
      }
      return this;
    }
  }

  /** Skips the test (fails under CI=true) without qemu-img and qemu-io. */
  static void requireQemu() {
    for (String tool : new String[] {"qemu-img", "qemu-io"}) {
      boolean found = false;
      for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
        found |= Files.isExecutable(Path.of(dir, tool));
      }
      if (!found) {
        String message = tool + " is not on the PATH: differential tests need qemu-utils";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
          throw new AssertionError(message + " and CI=true");
        }
        System.out.println("SKIPPED: " + message);
        Assumptions.abort(message);
      }
    }
  }

  static Result run(String... command) throws IOException {
    Path out = Files.createTempFile("vpc-out", ".txt");
    Path err = Files.createTempFile("vpc-err", ".txt");
    try {
      Process p = new ProcessBuilder(command).redirectOutput(out.toFile())
          .redirectError(err.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish in 120 s");
      }
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  static Result qemuImg(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-img"));
    cmd.addAll(List.of(args));
    return run(cmd.toArray(String[]::new));
  }

  static Result qemuIo(Path image, List<String> commands) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "vpc"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(image.toString());
    return run(cmd.toArray(String[]::new));
  }
}
