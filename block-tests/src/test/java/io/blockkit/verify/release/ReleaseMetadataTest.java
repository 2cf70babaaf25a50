package io.blockkit.verify.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/**
 * What a release to a Maven repository needs, read from the poms: the parent's metadata (url,
 * scm, developers, licence, output timestamp); a name and a description in every module; and a
 * BOM that names every published module at the project's version, so a module added later (a new
 * format) fails here until it is in the BOM.
 */
class ReleaseMetadataTest {
  private final Path root;
  private final Element parent;

  ReleaseMetadataTest() throws IOException {
    root = ProjectFiles.root();
    parent = ProjectFiles.pom(root.resolve("pom.xml"));
  }

  @Test
  void theParentCarriesWhatARepositoryRequires() {
    for (String field : List.of("name", "description", "url")) {
      assertFalse(ProjectFiles.text(parent, field).isEmpty(), field);
    }
    assertFalse(ProjectFiles.text(ProjectFiles.child(parent, "scm"), "connection").isEmpty());
    assertFalse(ProjectFiles.text(ProjectFiles.child(parent, "scm"), "url").isEmpty());
    assertEquals(1, ProjectFiles.children(parent, "developers", "developer").size());
    List<Element> licenses = ProjectFiles.children(parent, "licenses", "license");
    assertEquals(1, licenses.size());
    assertEquals("Apache-2.0", ProjectFiles.text(licenses.get(0), "name"));
    assertTrue(Files.isRegularFile(root.resolve("LICENSE")));
    assertTrue(ProjectFiles.text(ProjectFiles.child(parent, "properties"),
        "project.build.outputTimestamp").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"));
  }

  @Test
  void everyPublishedModuleIsInTheBomAtTheProjectVersion() throws IOException {
    Map<String, Element> published = publishedModules();
    Element bom = ProjectFiles.pom(root.resolve("blockkit-bom/pom.xml"));
    assertEquals(ProjectFiles.version(root), ProjectFiles.text(bom, "version"));
    assertEquals("io.blockkit", ProjectFiles.text(bom, "groupId"));
    assertEquals("", ProjectFiles.text(bom, "parent"),
        "the BOM must not inherit the parent's dependencyManagement (test libraries)");
    assertEquals(ProjectFiles.text(ProjectFiles.child(parent, "properties"),
            "project.build.outputTimestamp"),
        ProjectFiles.text(ProjectFiles.child(bom, "properties"), "project.build.outputTimestamp"));

    TreeSet<String> listed = new TreeSet<>();
    for (Element d : ProjectFiles.children(bom, "dependencyManagement", "dependencies",
        "dependency")) {
      assertEquals("io.blockkit", ProjectFiles.text(d, "groupId"));
      assertEquals("${project.version}", ProjectFiles.text(d, "version"));
      String classifier = ProjectFiles.text(d, "classifier");
      listed.add(ProjectFiles.text(d, "artifactId") + (classifier.isEmpty() ? "" : ":" + classifier));
    }
    TreeSet<String> expected = new TreeSet<>(published.keySet());
    expected.add("block-cli:all");
    assertEquals(expected, listed, "blockkit-bom/pom.xml must list every published module");
  }

  @Test
  void theReadmeImportsTheBomAtTheProjectVersion() throws IOException {
    String readme = Files.readString(root.resolve("README.md"));
    Matcher m = Pattern.compile(
        "<artifactId>blockkit-bom</artifactId>\\s*<version>([^<]+)</version>")
        .matcher(readme);
    assertTrue(m.find(), "README names no blockkit-bom coordinates");
    assertEquals(ProjectFiles.version(root), m.group(1));
    String version = ProjectFiles.version(root);
    assertTrue(readme.contains("block-cli-" + version + "-all.jar"),
        "README names the tool jar block-cli-" + version + "-all.jar");
  }

  @Test
  void everyModuleHasANameAndADescription() throws IOException {
    for (Map.Entry<String, Element> m : publishedModules().entrySet()) {
      assertFalse(ProjectFiles.text(m.getValue(), "description").isEmpty(), m.getKey());
      assertEquals(m.getKey(), ProjectFiles.text(m.getValue(), "name"), m.getKey());
    }
  }

  /**
   * The modules of a plain build with jar packaging (the BOM, profile-only modules and modules
   * that skip deployment, such as block-dist whose archive is a release download, aside).
   */
  private Map<String, Element> publishedModules() throws IOException {
    Map<String, Element> out = new TreeMap<>();
    List<String> problems = new ArrayList<>();
    for (Element m : ProjectFiles.children(parent, "modules", "module")) {
      Element pom = ProjectFiles.pom(root.resolve(m.getTextContent().trim()).resolve("pom.xml"));
      String packaging = ProjectFiles.text(pom, "packaging");
      Element properties = ProjectFiles.child(pom, "properties");
      boolean notDeployed = properties != null
          && ProjectFiles.text(properties, "maven.deploy.skip").equals("true");
      if (notDeployed) {
        continue;
      }
      if (packaging.isEmpty() || packaging.equals("jar")) {
        out.put(ProjectFiles.text(pom, "artifactId"), pom);
      } else if (!packaging.equals("pom")) {
        problems.add(m.getTextContent() + ": packaging " + packaging);
      }
    }
    assertEquals(List.of(), problems);
    assertTrue(out.containsKey("block-api"), out::toString);
    return out;
  }
}
