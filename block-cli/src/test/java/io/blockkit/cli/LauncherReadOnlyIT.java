package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source-tree launcher in a checkout its user cannot write: a stale jar runs with one
 * warning instead of failing in a build that cannot succeed; a missing jar is one error line.
 * Root writes anything, so as root the launcher runs as user nobody through {@code setpriv}.
 */
class LauncherReadOnlyIT {
  @TempDir
  Path dir;

  /** A copy of the checkout's launcher and shaded jar, with a pom newer than the jar. */
  private Path checkout(boolean withJar) throws Exception {
    return checkout(withJar, "pom.xml");
  }

  /** As {@link #checkout(boolean)}, with {@code newer} (a path in the checkout) newer than the jar. */
  private Path checkout(boolean withJar, String newer) throws Exception {
    Path root = Launcher.root();
    Path co = Files.createDirectories(dir.resolve("checkout"));
    Files.copy(root.resolve("blockkit"), co.resolve("blockkit"));
    Path target = Files.createDirectories(co.resolve("block-cli/target"));
    Path jar = target.resolve("blockkit.jar");
    if (withJar) {
      Files.copy(root.resolve("block-cli/target/blockkit.jar"), jar);
      Files.setLastModifiedTime(jar, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
    }
    Path source = co.resolve(newer);
    Files.createDirectories(source.getParent());
    Files.writeString(source, "<project/>\n"); // newer than the jar: stale
    for (Path p : List.of(dir, co, co.resolve("block-cli"), target)) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r-xr-xr-x"));
    }
    Files.setPosixFilePermissions(co.resolve("blockkit"),
        PosixFilePermissions.fromString("r-xr-xr-x"));
    if (withJar) {
      Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("r--r--r--"));
    }
    return co;
  }

  private Cli.Result launch(Path co, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "root without setpriv");
      cmd.addAll(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
          "--clear-groups"));
    }
    cmd.add(co.resolve("blockkit").toString());
    cmd.addAll(List.of(args));
    Path home = Files.createTempDirectory("ro-home");
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
    String java = Path.of(Proc.javaBin()).getParent().getParent().toString();
    return Proc.run(cmd, Map.of("HOME", home.toString(), "JAVA_HOME", java,
        "BLOCKKIT_CACHE", home.resolve("cache").toString()), 120);
  }

  @Test
  void aStaleJarThatCannotBeRebuiltRunsWithOneWarning() throws Exception {
    Path co = checkout(true);
    Cli.Result r = launch(co, "--version");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("blockkit version "), r.out());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().startsWith("blockkit: warning: blockkit.jar is older than the sources "
        + "and cannot be rebuilt here"), r.err());
  }

  @Test
  void aChangedSourceDeepInAModuleMakesTheJarStale() throws Exception {
    Path co = checkout(true, "block-x/src/main/java/io/blockkit/x/Changed.java");
    Cli.Result r = launch(co, "--version");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().startsWith("blockkit: warning: blockkit.jar is older than the sources"),
        r.err());
  }

  @Test
  void aChangedTestSourceIsNoReasonToRebuild() throws Exception {
    Path co = checkout(true, "block-x/src/test/java/io/blockkit/x/ChangedTest.java");
    Cli.Result r = launch(co, "--version");
    assertEquals(0, r.code(), r.err());
    assertEquals("", r.err());
  }

  @Test
  void aMissingJarThatCannotBeBuiltIsOneErrorLine() throws Exception {
    Path co = checkout(false);
    Cli.Result r = launch(co, "--version");
    assertEquals(1, r.code());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().contains("is missing and cannot be built here"), r.err());
  }
}
