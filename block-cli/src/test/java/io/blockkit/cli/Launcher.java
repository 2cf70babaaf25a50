package io.blockkit.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The real {@code ./blockkit} script, for tests that run in the package phase (after shading). */
final class Launcher {
  private Launcher() {}

  /** The repository root holding an up-to-date shaded jar, or the test is skipped. */
  static Path root() throws IOException {
    Path root = repoRoot();
    assumeTrue(root != null && upToDate(root), "the shaded jar is missing or older than the "
        + "sources (this test runs in the package phase, after shading)");
    return root;
  }

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

  /** Runs {@code root/blockkit args} with its start-up cache in {@code cache}, never building. */
  static Cli.Result run(Path root, Path cache, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(root.resolve("blockkit").toString());
    cmd.addAll(List.of(args));
    Map<String, String> all = new HashMap<>(env);
    all.put("BLOCKKIT_CACHE", cache.toString());
    all.put("BLOCKKIT_NO_BUILD", "1"); // never start Maven from inside Maven
    return Proc.run(cmd, all, 120);
  }
}
