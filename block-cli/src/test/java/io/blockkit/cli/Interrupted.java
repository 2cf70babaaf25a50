package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Helpers for tests that stop a real {@code convert} process part-way: a source worth copying,
 * the process, and what it may leave behind.
 */
final class Interrupted {
  /** Rounds per test; {@code -Dblockkit.interruptRounds=200} for a long run. */
  static final int ROUNDS = Integer.getInteger("blockkit.interruptRounds", 12);

  private Interrupted() {}

  /**
   * Rounds of a convert from a fresh raw source of random data into {@code out/target.vdi}, each
   * stopped after a random delay between 0 and a little more than one whole run takes.
   */
  record Rounds(Tool tool, Path src, Path out, Path target, Path log, String[] args,
      long fullMillis, long seed, Random rnd) {
    static Rounds prepare(Path dir, int mib) throws Exception {
      return prepare(dir, mib, JVM);
    }

    static Rounds prepare(Path dir, int mib, Tool tool) throws Exception {
      Path src = source(dir.resolve("src.raw"), mib, mib);
      Path out = Files.createDirectory(dir.resolve("out"));
      Path target = out.resolve("target.vdi");
      Path log = dir.resolve("log.txt");
      String[] args = {"convert", "-f", "raw", "-O", "vdi", src.toString(), target.toString()};
      long full = timeOneRun(tool, log, args);
      empty(out);
      long seed = Long.getLong("blockkit.seed", System.nanoTime());
      return new Rounds(tool, src, out, target, log, args, full, seed, new Random(seed));
    }

    /** Starts the next round's convert. */
    Process start() throws IOException {
      return Interrupted.start(tool, log, args);
    }

    long nextDelay() {
      return (long) (rnd.nextDouble() * fullMillis * 1.1);
    }

    /**
     * After a round stopped by {@code signal}: the target is absent or complete, nothing else is
     * left beside it but, after SIGKILL only, the hidden staged file; no internal error text.
     * Empties the folder for the next round.
     */
    void assertOutcome(Process p, String signal, String where) throws Exception {
      assertEnds(p, log, where);
      if (Files.exists(target)) {
        assertTrue(identical(src, target, "vdi"), where + ": incomplete target");
      } else {
        assertNotEquals(0, p.exitValue(), where + ": exit 0 without a target");
      }
      Pattern staged = stagedName(target);
      for (String name : others(out, target)) {
        assertTrue(signal.equals("KILL") && staged.matcher(name).matches(),
            where + ": left behind: " + name + "; output: " + read(log));
      }
      empty(out);
    }

    /** Names the round in a failure message, with what would repeat it. */
    String where(int round, String how, long delay) {
      return "round " + round + " (seed " + seed + ", " + how + " after " + delay + " of "
          + fullMillis + " ms)";
    }
  }

  /** A raw file of {@code mib} MiB: random data with whole-MiB zero runs between. */
  static Path source(Path file, int mib, long seed) throws IOException {
    Random rnd = new Random(seed);
    byte[] mb = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(file)) {
      for (int i = 0; i < mib; i++) {
        if (i % 3 == 0) {
          java.util.Arrays.fill(mb, (byte) 0);
        } else {
          rnd.nextBytes(mb);
        }
        out.write(mb);
      }
    }
    return file;
  }

  /** Sends {@code signal} (a name such as TERM) to the process. */
  static void signal(Process p, String signal) throws Exception {
    new ProcessBuilder("/bin/kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
  }

  /** The process ends, printing no internal error text. */
  static void assertEnds(Process p, Path log, String where) throws Exception {
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), where + ": the signal was ignored");
    String printed = read(log);
    assertFalse(printed.contains("Internal error") || printed.contains("Exception")
        || printed.contains("\tat "), where + ": internal error text printed: " + printed);
  }

  /** How the tool is started: a process builder for {@code blockkit args...}. */
  interface Tool {
    ProcessBuilder command(String... args);
  }

  /** A fresh JVM on the test class path. */
  static final Tool JVM = args -> new ProcessBuilder(Proc.blockkit(args));

  /** Starts {@code blockkit args...} in a fresh JVM, its output going to {@code log}. */
  static Process start(Path log, String... args) throws IOException {
    return start(JVM, log, args);
  }

  static Process start(Tool tool, Path log, String... args) throws IOException {
    return tool.command(args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** Milliseconds one uninterrupted run of {@code args} takes (it must succeed). */
  static long timeOneRun(Tool tool, Path log, String... args) throws Exception {
    long t0 = System.nanoTime();
    Process p = start(tool, log, args);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "convert did not finish");
    assertEquals(0, p.exitValue(), () -> "convert failed: " + read(log));
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  /** The name a staged copy of {@code target} has: hidden, recognisable, beside it. */
  static Pattern stagedName(Path target) {
    return Pattern.compile("\\." + Pattern.quote(target.getFileName().toString())
        + "\\.blockkit-[A-Za-z0-9]+\\.tmp");
  }

  /** Names in {@code dir} other than {@code keep}. */
  static List<String> others(Path dir, Path... keep) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(p -> names.add(p.getFileName().toString()));
    }
    for (Path k : keep) {
      names.remove(k.getFileName().toString());
    }
    return names;
  }

  /** Deletes everything in {@code dir}. */
  static void empty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        Files.delete(p);
      }
    }
  }

  /** Whether {@code target} reads back exactly as the raw {@code source}. */
  static boolean identical(Path source, Path target, String targetFormat) {
    return Cli.run("compare", "-q", "-f", "raw", "-F", targetFormat, source.toString(),
        target.toString()).code() == 0;
  }
}
