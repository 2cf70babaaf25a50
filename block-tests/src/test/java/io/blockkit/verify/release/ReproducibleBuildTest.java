package io.blockkit.verify.release;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clean builds give identical jars. block-api (the module without blockkit dependencies, so
 * it builds alone and offline) is copied into an empty folder and packaged there by the same Maven
 * that runs this build; its jar, sources jar and javadoc jar must equal, byte for byte, the ones
 * this build made in block-api/target (built at another time, in another folder). When those are
 * missing, older than the sources (a {@code mvn test} run) or different (an incremental build is
 * not a clean one), a second copy is built the same way and the two clean builds must agree.
 * Also checks what publishing needs in the manifest: the Automatic-Module-Name.
 *
 * <p>Needs the {@code blockkit.maven.home} and {@code blockkit.maven.repo} properties that
 * block-tests' pom passes from the running Maven: skipped with a message without them (an IDE),
 * failing under {@code CI=true}.
 */
class ReproducibleBuildTest {
  private static final List<String> CLASSIFIERS = List.of("", "-sources", "-javadoc");

  @TempDir Path dir;

  @Test
  void twoCleanBuildsOfAModuleGiveIdenticalJars() throws Exception {
    String mavenHome = System.getProperty("blockkit.maven.home", "");
    String repo = System.getProperty("blockkit.maven.repo", "");
    boolean ci = "true".equals(System.getenv("CI"));
    if (mavenHome.isEmpty() || repo.isEmpty() || !Files.isExecutable(mvn(mavenHome))) {
      String why = "SKIPPED: ReproducibleBuildTest needs the Maven that runs the build "
          + "(blockkit.maven.home, blockkit.maven.repo); run it through mvn";
      System.out.println(why);
      Assumptions.assumeTrue(ci, why);
      throw new AssertionError(why + " (required under CI=true)");
    }
    Path root = ProjectFiles.root();
    String version = ProjectFiles.version(root);
    Path first = build(root, dir.resolve("first"), mavenHome, repo, version);
    Path reactorJars = root.resolve("block-api/target");
    if (!fresh(root, reactorJars, version) || !sameJars(first, reactorJars, version)) {
      // No jars from this build, or jars that differ: an incremental build (sources edited
      // while it ran, classes kept from an older compile) is no clean build, so make a second
      // clean one to compare with.
      Path second = build(root, dir.resolve("second"), mavenHome, repo, version);
      for (String classifier : CLASSIFIERS) {
        String name = "block-api-" + version + classifier + ".jar";
        assertArrayEquals(Files.readAllBytes(first.resolve(name)),
            Files.readAllBytes(second.resolve(name)),
            name + " differs between two clean builds, in " + first + " and " + second);
      }
    }
    for (String classifier : CLASSIFIERS) {
      assertOneTimestamp(first.resolve("block-api-" + version + classifier + ".jar"));
    }
    try (JarFile jar = new JarFile(first.resolve("block-api-" + version + ".jar").toFile())) {
      assertEquals("io.blockkit.api",
          jar.getManifest().getMainAttributes().getValue("Automatic-Module-Name"));
    }
  }

  private static boolean sameJars(Path a, Path b, String version) throws IOException {
    for (String classifier : CLASSIFIERS) {
      String name = "block-api-" + version + classifier + ".jar";
      if (!Arrays.equals(Files.readAllBytes(a.resolve(name)), Files.readAllBytes(b.resolve(name)))) {
        System.out.println("ReproducibleBuildTest: " + b.resolve(name) + " differs from a clean"
            + " build; building a second clean copy to compare with");
        return false;
      }
    }
    return true;
  }

  /** Every entry carries the same time (project.build.outputTimestamp), not the build's. */
  private static void assertOneTimestamp(Path jar) throws IOException {
    try (JarFile f = new JarFile(jar.toFile())) {
      Set<FileTime> times = f.stream().map(ZipEntry::getLastModifiedTime)
          .collect(Collectors.toSet());
      assertEquals(1, times.size(), jar + " has entries with different times: " + times);
    }
  }

  /** Whether the reactor's jars exist and are newer than every source and pom they come from. */
  private static boolean fresh(Path root, Path target, String version) throws IOException {
    long oldestJar = Long.MAX_VALUE;
    for (String classifier : CLASSIFIERS) {
      Path jar = target.resolve("block-api-" + version + classifier + ".jar");
      if (!Files.isRegularFile(jar)) {
        return false;
      }
      oldestJar = Math.min(oldestJar, Files.getLastModifiedTime(jar).toMillis());
    }
    long newestSource = Math.max(Files.getLastModifiedTime(root.resolve("pom.xml")).toMillis(),
        Files.getLastModifiedTime(root.resolve("block-api/pom.xml")).toMillis());
    try (Stream<Path> s = Files.walk(root.resolve("block-api/src/main"))) {
      for (Path p : (Iterable<Path>) s::iterator) {
        newestSource = Math.max(newestSource, Files.getLastModifiedTime(p).toMillis());
      }
    }
    return oldestJar > newestSource;
  }

  /** Copies the parent pom and block-api's main sources into {@code into} and packages them. */
  private static Path build(Path root, Path into, String mavenHome, String repo, String version)
      throws IOException, InterruptedException {
    Files.createDirectories(into);
    Files.copy(root.resolve("pom.xml"), into.resolve("pom.xml"));
    Path module = into.resolve("block-api");
    Files.createDirectories(module);
    Files.copy(root.resolve("block-api/pom.xml"), module.resolve("pom.xml"));
    copyTree(root.resolve("block-api/src/main"), module.resolve("src/main"));
    List<String> command = new ArrayList<>(List.of(mvn(mavenHome).toString(), "-B", "-q", "-o",
        "-Dmaven.repo.local=" + repo, "-Dmaven.test.skip=true", "-f",
        module.resolve("pom.xml").toString(), "package"));
    Path log = into.resolve("build.log");
    Process p = new ProcessBuilder(command).directory(into.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("the build in " + into + " took more than 5 minutes");
    }
    assertEquals(0, p.exitValue(), () -> "the build in " + into + " failed:\n" + read(log));
    Path target = module.resolve("target");
    assertTrue(Files.isRegularFile(target.resolve("block-api-" + version + ".jar")), target::toString);
    return target;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path dest = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dest);
        } else {
          Files.copy(p, dest);
        }
      }
    }
  }

  private static Path mvn(String mavenHome) {
    return Path.of(mavenHome, "bin", "mvn");
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
