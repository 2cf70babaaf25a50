package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCreateDriversTest {
  @TempDir
  Path dir;

  private static String mem() {
    return "memory:info-" + UUID.randomUUID();
  }

  @Test
  void createPrintsQemusFormattingLineAndInfoReadsTheSizeBack() {
    String img = mem();
    Cli.Result c = Cli.ok("create", "-f", "raw", img, "64M");
    assertTrue(c.out().startsWith("Formatting '" + img + "', fmt=raw size=67108864"), c.out());
    Cli.Result i = Cli.ok("info", "-f", "raw", img);
    List<String> lines = List.of(i.out().split("\n"));
    assertEquals("image: " + img, lines.get(0));
    assertEquals("file format: raw", lines.get(1));
    assertEquals("virtual size: 64 MiB (67108864 bytes)", lines.get(2));
    assertTrue(lines.get(3).startsWith("disk size: "), lines.get(3));
  }

  @Test
  void sizeSuffixesArePowersOf1024() {
    for (String[] c : new String[][] {{"1k", "1024"}, {"3M", "3145728"}, {"2G", "2147483648"},
        {"1T", "1099511627776"}, {"1536", "1536"}}) {
      String img = mem();
      Cli.ok("create", "-f", "raw", img, c[0]);
      assertEquals(Long.parseLong(c[1]),
          Cli.ok("info", "--output=json", "-f", "raw", img).json().get("virtual-size").asLong());
    }
  }

  @Test
  void sizeCanComeFromDashO() {
    String img = mem();
    Cli.ok("create", "-f", "raw", "-o", "size=2M", img);
    assertEquals(2 << 20,
        Cli.ok("info", "--output=json", "-f", "raw", img).json().get("virtual-size").asLong());
  }

  @Test
  void jsonInfoHasQemusKeys() {
    String img = mem();
    Cli.ok("create", "-f", "raw", img, "1M");
    JsonNode j = Cli.ok("info", "--output=json", "-f", "raw", img).json();
    assertEquals(img, j.get("filename").asText());
    assertEquals("raw", j.get("format").asText());
    assertEquals(1 << 20, j.get("virtual-size").asLong());
    assertFalse(j.get("dirty-flag").asBoolean());
    assertFalse(j.has("cluster-size"), "raw has no clusters, qemu omits the key");
  }

  @Test
  void infoJsonMatchesQemuOnTheSameFile() throws Exception {
    Path f = dir.resolve("q.raw");
    Qemu.run("create", "-f", "raw", f.toString(), "5M");
    Files.write(f, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.WRITE);
    JsonNode ours = Cli.ok("info", "--output=json", f.toString()).json();
    JsonNode theirs = Cli.JSON.readTree(Qemu.run("info", "--output=json", f.toString()).out());
    assertEquals(theirs.get("virtual-size"), ours.get("virtual-size"));
    assertEquals(theirs.get("format"), ours.get("format"));
    assertEquals(theirs.get("filename"), ours.get("filename"));
    assertEquals(theirs.get("dirty-flag"), ours.get("dirty-flag"));
    assertEquals(theirs.has("cluster-size"), ours.has("cluster-size"));
    Set<String> theirKeys = new HashSet<>();
    theirs.fieldNames().forEachRemaining(theirKeys::add);
    Set<String> ourKeys = new HashSet<>();
    ours.fieldNames().forEachRemaining(ourKeys::add);
    assertEquals(theirKeys, ourKeys);
  }

  @Test
  void infoHumanMatchesQemuLineForLine() throws Exception {
    Path f = dir.resolve("h.raw");
    Cli.ok("create", "-f", "raw", f.toString(), "3M");
    List<String> ours = List.of(Cli.ok("info", f.toString()).out().split("\n"));
    List<String> theirs = List.of(Qemu.run("info", f.toString()).out().split("\n"));
    assertEquals(theirs.subList(0, 3), ours.subList(0, 3));
  }

  @Test
  void createHelpListsTheDriversOptions() {
    Cli.Result r = Cli.ok("create", "-f", "raw", "-o", "help");
    assertTrue(r.out().startsWith("Supported raw options:"), r.out());
    assertTrue(r.out().contains("size=<size>"), r.out());
    assertTrue(r.out().contains("preallocation="), r.out());
  }

  @Test
  void driversListsEveryRegisteredDriverAsTextAndJson() {
    Cli.Result r = Cli.ok("drivers");
    for (String d : List.of("file (protocol)", "memory (protocol)", "raw (format)",
        "clitest (format)")) {
      assertTrue(r.out().contains(d), r.out());
    }
    JsonNode j = Cli.ok("drivers", "--output=json").json();
    Set<String> names = new HashSet<>();
    j.forEach(n -> names.add(n.get("name").asText()));
    assertTrue(names.containsAll(Set.of("file", "memory", "raw", "clitest")), names.toString());
    JsonNode raw = null;
    for (JsonNode n : j) {
      if (n.get("name").asText().equals("raw")) {
        raw = n;
      }
    }
    assertEquals("format", raw.get("kind").asText());
    assertEquals("size", raw.get("create-options").get(0).get("name").asText());
  }

  @Test
  void versionAndHelpExitZero() {
    assertTrue(Cli.ok("--version").out().startsWith("blockkit version "));
    for (String cmd : List.of("info", "create", "check", "convert", "map", "compare", "bench",
        "drivers")) {
      Cli.Result r = Cli.ok(cmd, "--help");
      assertTrue(r.out().contains("Usage: blockkit " + cmd), r.out());
    }
  }
}
