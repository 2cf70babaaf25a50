package com.example.pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's Java snippets in "Writing a driver plugin" and "Embedding blockkit" are compiled
 * code: each names its file in a {@code <!-- compiled: path -->} line, and each run of its lines
 * between {@code // ...} elisions appears in that file as it is (indentation and blank lines
 * aside). The embedding example's Maven coordinates carry the project's version.
 */
class ReadmeExamplesTest {
  private static final Path ROOT = Path.of("..");
  private static final Pattern MARKER = Pattern.compile("<!-- compiled: (\\S+) -->");

  @Test
  void everyJavaSnippetOfThePluginSectionIsInTheFileItNames() throws IOException {
    assertTrue(snippets("## Writing a driver plugin") >= 4, "plugin snippets");
  }

  @Test
  void theEmbeddingExampleIsTheCompiledProgram() throws IOException {
    assertTrue(snippets("## Embedding blockkit") >= 1, "embedding snippets");
  }

  @Test
  void theMavenCoordinatesNameTheProjectsVersion() throws IOException {
    String pom = Files.readString(ROOT.resolve("pom.xml"));
    Matcher v = Pattern.compile("<artifactId>blockkit-parent</artifactId>\\s*<version>([^<]+)"
        + "</version>").matcher(pom);
    assertTrue(v.find(), "no version in pom.xml");
    String readme = Files.readString(ROOT.resolve("README.md"));
    Matcher used = Pattern.compile("<artifactId>(block-[a-z]+)</artifactId>\\s*<version>([^<]+)"
        + "</version>").matcher(readme);
    int found = 0;
    while (used.find()) {
      assertTrue(used.group(2).equals(v.group(1)), used.group(1) + " " + used.group(2)
          + " in README, the project is " + v.group(1));
      assertTrue(Files.isDirectory(ROOT.resolve(used.group(1))), "no module " + used.group(1));
      found++;
    }
    assertTrue(found >= 2, "README names no Maven coordinates");
  }

  /** Checks the Java snippets of one README section; returns how many there are. */
  private static int snippets(String section) throws IOException {
    List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
    int start = readme.indexOf(section);
    assertTrue(start >= 0, "README has no section " + section);
    int checked = 0;
    for (int i = start + 1; i < readme.size() && !readme.get(i).startsWith("## "); i++) {
      if (!readme.get(i).equals("```java")) {
        continue;
      }
      Matcher m = MARKER.matcher(readme.get(i - 1));
      assertTrue(m.matches(), "the snippet at README line " + (i + 1)
          + " does not name its file in a '<!-- compiled: path -->' line");
      List<String> source = significant(Files.readAllLines(ROOT.resolve(m.group(1))));
      List<String> chunk = new ArrayList<>();
      for (i++; !readme.get(i).equals("```"); i++) {
        String line = readme.get(i).trim();
        if (line.startsWith("// ...")) {
          assertIn(chunk, source, m.group(1), i);
          chunk.clear();
        } else if (!line.isEmpty()) {
          chunk.add(line);
        }
      }
      assertIn(chunk, source, m.group(1), i);
      checked++;
    }
    return checked;
  }

  private static List<String> significant(List<String> lines) {
    return lines.stream().map(String::trim).filter(l -> !l.isEmpty()).toList();
  }

  private static void assertIn(List<String> chunk, List<String> source, String file, int line) {
    if (!chunk.isEmpty() && Collections.indexOfSubList(source, chunk) < 0) {
      fail("README lines before " + (line + 1) + " are not in " + file + " as they are there,"
          + " starting with: " + chunk.get(0));
    }
  }
}
