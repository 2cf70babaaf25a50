package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real {@code ./blockkit} script on the jar Maven just shaded (this test runs in the
 * package phase, after the shade plugin): first run creates the class-data archive, second run
 * uses it, and both give the same answers.
 */
class LauncherSmokeIT {
  @TempDir
  Path dir;

  private static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("blockkit"))) {
      p = p.getParent();
    }
    return p;
  }

  /** The jar exists and no pom or main source is newer (the launcher would rebuild it). */
  private static boolean upToDate(Path root) throws IOException {
    Path jar = root.resolve("block-cli/target/blockkit.jar");
    if (!Files.isRegularFile(jar)) {
      return false;
    }
    long built = Files.getLastModifiedTime(jar).toMillis();
    try (var s = Files.walk(root)) {
      return s.filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git"))
          .filter(p -> p.getFileName().toString().equals("pom.xml")
              || p.toString().contains("/src/main/"))
          .filter(Files::isRegularFile)
          .noneMatch(p -> {
            try {
              return Files.getLastModifiedTime(p).toMillis() > built;
            } catch (IOException e) {
              return true;
            }
          });
    }
  }

  private Cli.Result launch(Path root, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(root.resolve("blockkit").toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("BLOCKKIT_CACHE", dir.resolve("cache").toString());
    pb.environment().put("BLOCKKIT_NO_BUILD", "1"); // never start Maven from inside Maven
    Process p = pb.start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "launcher timed out");
    return new Cli.Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void launcherRunsTheJarAndCreatesThenUsesTheSharedArchive() throws Exception {
    Path root = repoRoot();
    assumeTrue(root != null && upToDate(root), "the shaded jar is missing or older than the "
        + "sources (this test runs in the package phase, after shading)");
    Path img = dir.resolve("smoke.raw");
    Cli.Result create = launch(root, "create", "-f", "raw", img.toString(), "8M");
    assertEquals(0, create.code(), create.err());
    assertEquals("", create.err(), "no rebuild and no JVM warnings expected");
    try (var s = Files.list(dir.resolve("cache"))) {
      assertTrue(s.anyMatch(f -> f.toString().endsWith(".jsa")), "CDS archive not created");
    }
    Cli.Result info = launch(root, "info", "--output=json", img.toString());
    assertEquals(0, info.code(), info.err());
    assertEquals("", info.err());
    assertEquals(8 << 20, info.json().get("virtual-size").asLong());
    Cli.Result bad = launch(root, "info", dir.resolve("missing.raw").toString());
    assertEquals(1, bad.code());
    assertEquals(1, bad.errLines().size(), bad.err());
    assertTrue(bad.err().startsWith("blockkit: "), bad.err());
  }
}
