package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

  static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("blockkit"))) {
      p = p.getParent();
    }
    return p;
  }

  /** The jar exists and no pom or main source is newer (the launcher would rebuild it). */
  static boolean upToDate(Path root) throws IOException {
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
    return launch(root, Map.of(), args);
  }

  private Cli.Result launch(Path root, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(root.resolve("blockkit").toString());
    cmd.addAll(List.of(args));
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("BLOCKKIT_CACHE", dir.resolve("cache").toString());
    all.put("BLOCKKIT_NO_BUILD", "1"); // never start Maven from inside Maven
    return Proc.run(cmd, all, 120);
  }

  /**
   * A copy of the tool's layout (launcher script, jar, plugins/ folder) in a temporary folder:
   * the launcher finds its jar and plugins/ beside itself.
   */
  @Test
  void pluginJarsBesideTheLauncherOnThePathAndInTheEnvironmentAreUsable() throws Exception {
    Path root = repoRoot();
    assumeTrue(root != null && upToDate(root), "the shaded jar is missing or older than the "
        + "sources (this test runs in the package phase, after shading)");
    Map<String, String> noCds = Map.of("BLOCKKIT_CDS", "off"); // the other test covers the cache
    Path tool = dir.resolve("tool");
    Files.createDirectories(tool.resolve("block-cli/target"));
    Files.copy(root.resolve("blockkit"), tool.resolve("blockkit"));
    Files.copy(root.resolve("block-cli/target/blockkit.jar"),
        tool.resolve("block-cli/target/blockkit.jar"));
    Cli.Result without = launch(tool, noCds, "drivers");
    assertEquals(0, without.code(), without.err());
    assertFalse(without.out().contains(PluginJars.NAME + " (protocol)"), without.out());

    Path jar = PluginJars.build(dir.resolve("build"), tool.resolve("plugins"));
    Cli.Result beside = launch(tool, noCds, "drivers");
    assertTrue(beside.out().contains(PluginJars.NAME + " (protocol)"), beside.out() + beside.err());
    Path out = dir.resolve("copy.raw");
    Cli.Result conv = launch(tool, noCds, "convert", "-O", "raw", PluginJars.NAME + ":300000",
        out.toString());
    assertEquals(0, conv.code(), conv.err());
    assertArrayEquals(PluginJars.expected(300000), Files.readAllBytes(out));

    Path elsewhere = Files.move(jar, dir.resolve("elsewhere.jar"));
    assertEquals(0, launch(tool, noCds, "info", "-f", "raw", out.toString()).code());
    assertTrue(launch(tool, noCds, "--plugin-path", elsewhere.toString(), "info", "--output=json",
        PluginJars.NAME + ":4k").out().contains("\"virtual-size\": 4096"));
    assertTrue(launch(tool, Map.of("BLOCKKIT_CDS", "off", "BLOCKKIT_PLUGIN_PATH",
        elsewhere.toString()), "drivers")
        .out().contains(PluginJars.NAME + " (protocol)"));
    launch(tool, noCds, "info", PluginJars.NAME + ":4k").assertOneLineError(1);
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
