package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Runs a child process to completion, draining both streams at once (no pipe deadlock). */
final class Proc {
  private Proc() {}

  static Cli.Result run(List<String> cmd, Map<String, String> env, long timeoutSeconds)
      throws IOException, InterruptedException {
    Bytes r = runBytes(cmd, env, timeoutSeconds);
    return new Cli.Result(r.code(), new String(r.out(), StandardCharsets.UTF_8),
        new String(r.err(), StandardCharsets.UTF_8));
  }

  /** What a process printed, as bytes (names that are not UTF-8 stay exact). */
  record Bytes(int code, byte[] out, byte[] err) {}

  /** {@link #run}, keeping the output as bytes; env values that are null are removed. */
  static Bytes runBytes(List<String> cmd, Map<String, String> env, long timeoutSeconds)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    env.forEach((k, v) -> {
      if (v == null) {
        pb.environment().remove(k);
      } else {
        pb.environment().put(k, v);
      }
    });
    Process p = pb.start();
    p.getOutputStream().close();
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
    byte[] out = drain(p.getInputStream());
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("timed out after " + timeoutSeconds + " s: " + cmd);
    }
    try {
      return new Bytes(p.exitValue(), out, err.get());
    } catch (ExecutionException e) {
      throw new IOException(e.getCause());
    }
  }

  private static byte[] drain(InputStream in) {
    try (in) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A command line running the tool in a fresh JVM on this test's class path. */
  static List<String> blockkit(String... args) {
    return blockkit(List.of(), args);
  }

  /** The same, with options for the JVM (e.g. a memory limit). */
  static List<String> blockkit(List<String> jvmOptions, String... args) {
    List<String> cmd = new java.util.ArrayList<>(List.of(javaBin()));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  static String javaBin() {
    return java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
