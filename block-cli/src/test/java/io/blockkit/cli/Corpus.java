package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * The shared VirtualBox corpus: the first {@code shared/vdi-corpus} (with its MANIFEST.tsv) found
 * walking up from the working directory, so {@code ../shared/vdi-corpus} beside the checkout
 * (docs/CORPUS.md says where its images come from). The rule for every test that reads it: when
 * it is absent the test is skipped with a visible message, and fails under
 * {@code BLOCKKIT_REQUIRE_CORPUS=1} (which {@code .ci/run} sets).
 */
final class Corpus {
  private Corpus() {}

  static Path dir() {
    Optional<Path> found = find();
    if (found.isEmpty()) {
      absent();
    }
    return found.get();
  }

  /**
   * Every image file (the .vdi ones and the header-only .bin), or none (after the visible
   * message) when the corpus is absent: for tests that run on other images too.
   */
  static List<Path> imagesIfPresent() throws IOException {
    if (find().isEmpty()) {
      return skipPart();
    }
    try (Stream<Path> s = Files.list(dir())) {
      return s.filter(p -> !p.toString().endsWith(".md") && !p.toString().endsWith(".tsv"))
          .sorted().toList();
    }
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

  private static Optional<Path> find() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path c = p.resolve("shared").resolve("vdi-corpus");
      if (Files.isRegularFile(c.resolve("MANIFEST.tsv"))) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }

  /** Fails under BLOCKKIT_REQUIRE_CORPUS=1, else prints the visible skip line; the message. */
  private static String missing(String consequence) {
    String msg = "VDI corpus not found (no shared/vdi-corpus/MANIFEST.tsv above "
        + Path.of("").toAbsolutePath() + "; see docs/CORPUS.md)";
    if ("1".equals(System.getenv("BLOCKKIT_REQUIRE_CORPUS"))) {
      fail(msg + " and BLOCKKIT_REQUIRE_CORPUS=1");
    }
    System.out.println("SKIPPED: " + msg + consequence);
    System.err.println("SKIPPED: " + msg + consequence);
    return msg;
  }

  private static List<Path> skipPart() {
    missing("; corpus images left out of this test");
    return List.of();
  }

  private static void absent() {
    Assumptions.abort(missing(""));
  }
}
