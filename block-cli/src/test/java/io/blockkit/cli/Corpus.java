package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/** The shared VirtualBox corpus, found by walking up to a {@code shared/vdi-corpus} sibling. */
final class Corpus {
  private Corpus() {}

  static Path dir() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path c = p.resolveSibling("shared").resolve("vdi-corpus");
      if (Files.isDirectory(c)) {
        return c;
      }
      Path d = p.resolve("shared").resolve("vdi-corpus");
      if (Files.isDirectory(d)) {
        return d;
      }
    }
    if ("true".equals(System.getenv("CI"))) {
      fail("shared/vdi-corpus not found beside the repository");
    }
    System.err.println("SKIPPED: shared/vdi-corpus not found; corpus test not run");
    Assumptions.abort("corpus not found");
    return null;
  }

  static List<Path> images() throws IOException {
    try (Stream<Path> s = Files.list(dir())) {
      return s.filter(p -> p.toString().endsWith(".vdi")).sorted().toList();
    }
  }

  static Path image(String prefix) throws IOException {
    return images().stream().filter(p -> p.getFileName().toString().startsWith(prefix))
        .findFirst().orElseThrow(() -> new AssertionError("no corpus image " + prefix));
  }
}
