package io.blockkit.verify;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs qemu-img and qemu-io, the reference peer. When a tool is missing the calling test is
 * skipped with a visible message, except under {@code CI=true}, where it fails.
 */
public final class Qemu {
  private Qemu() {}

  /** One finished process. */
  public record Result(int exitCode, String stdout, String stderr, List<String> command) {
    public Result expect(int code) {
      if (exitCode != code) {
        fail(String.join(" ", command) + " exited " + exitCode + " (expected " + code + ")\n"
            + stdout + stderr);
      }
      return this;
    }
  }

  private static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /** Skips (or under CI fails) the current test unless every tool is on the PATH. */
  public static void require(String... tools) {
    for (String tool : tools) {
      if (!onPath(tool)) {
        String message = tool + " is not on the PATH: differential tests against qemu need "
            + "qemu-utils (apt-get install qemu-utils)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
          fail(message + " and CI=true");
        }
        System.err.println("SKIPPED: " + message);
        System.out.println("SKIPPED: " + message);
        Assumptions.abort(message);
      }
    }
  }

  /** Runs a command with a timeout; the caller checks the exit code. */
  public static Result run(List<String> command) throws IOException {
    List<String> cmd = new ArrayList<>(command);
    Path out = Files.createTempFile("qemu-out", ".txt");
    Path err = Files.createTempFile("qemu-err", ".txt");
    try {
      Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
          .start();
      try {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          fail(String.join(" ", cmd) + " did not finish in 120 s");
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8), cmd);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  public static Result img(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-img"));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  /** {@code qemu-io -f FORMAT -c CMD1 -c CMD2 ... FILE}. */
  public static Result io(String format, Path file, List<String> commands) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", format));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(file.toString());
    return run(cmd);
  }

  /** One entry of {@code qemu-img map --output=json}. */
  public record MapEntry(long start, long length, boolean data, boolean zero, long offset) {
    public long end() {
      return start + length;
    }
  }

  /** Parses qemu-img map's JSON (a flat array of flat objects) without a JSON library. */
  public static List<MapEntry> parseMap(String json) {
    List<MapEntry> out = new ArrayList<>();
    java.util.regex.Matcher obj = java.util.regex.Pattern.compile("\\{([^}]*)\\}").matcher(json);
    while (obj.find()) {
      String body = obj.group(1);
      out.add(new MapEntry(longField(body, "start"), longField(body, "length"),
          boolField(body, "data"), boolField(body, "zero"),
          body.contains("\"offset\"") ? longField(body, "offset") : -1));
    }
    return out;
  }

  private static String field(String body, String key) {
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("\"" + key + "\"\\s*:\\s*([^,\\s}]+)").matcher(body);
    if (!m.find()) {
      throw new AssertionError("qemu-img map entry without " + key + ": " + body);
    }
    return m.group(1);
  }

  private static long longField(String body, String key) {
    return Long.parseLong(field(body, key));
  }

  private static boolean boolField(String body, String key) {
    return Boolean.parseBoolean(field(body, key));
  }
}
