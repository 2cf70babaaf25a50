package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchPluginTest {
  @TempDir
  Path dir;

  @Test
  void benchPrintsQemusLinesForReadsAndWrites() {
    String img = "memory:bench-" + UUID.randomUUID();
    Cli.ok("create", "-f", "raw", img, "1M");
    Cli.Result r = Cli.ok("bench", "-f", "raw", "-c", "500", "-d", "4", "-s", "64k", img);
    List<String> lines = List.of(r.out().split("\n"));
    assertEquals("Sending 500 read requests, 65536 bytes each, 4 in parallel (starting at offset "
        + "0, step size 65536)", lines.get(0));
    assertTrue(lines.get(1).matches("Run completed in \\d+\\.\\d{3} seconds\\."), lines.get(1));
    assertTrue(lines.get(2).contains("IOPS"), lines.get(2));
    Cli.Result w = Cli.ok("bench", "-w", "-f", "raw", "-c", "100", "-S", "8k", "-o", "4k",
        "--pattern", "7", img);
    assertTrue(w.out().startsWith("Sending 100 write requests, 4096 bytes each, 64 in parallel "
        + "(starting at offset 4096, step size 8192)"), w.out());
  }

  @Test
  void benchRejectsARequestLargerThanTheImage() {
    String img = "memory:bench-small-" + UUID.randomUUID();
    Cli.ok("create", "-f", "raw", img, "4k");
    Cli.run("bench", "-f", "raw", "-s", "1M", img).assertOneLineError(1);
  }

  /** A jar holding only a service file that names a driver class the test class path has. */
  private Path pluginJar(Path folder) throws Exception {
    Files.createDirectories(folder);
    Path jar = folder.resolve("extra-driver.jar");
    try (OutputStream o = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(o)) {
      j.putNextEntry(new JarEntry("META-INF/services/io.blockkit.api.BlockDriver"));
      j.write((PluginDriver.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
      j.closeEntry();
    }
    return jar;
  }

  @Test
  void aPluginJarThatFailsToLoadIsSkippedWithOneWarningAndTheRestWorks() throws Exception {
    Path plugins = dir.resolve("mixed");
    pluginJar(plugins);
    Path broken = plugins.resolve("broken.jar");
    try (OutputStream o = Files.newOutputStream(broken);
        JarOutputStream j = new JarOutputStream(o)) {
      j.putNextEntry(new JarEntry("META-INF/services/io.blockkit.api.BlockDriver"));
      j.write("com.example.MissingDriver\n".getBytes(StandardCharsets.UTF_8));
      j.closeEntry();
    }
    Cli.Result r = Cli.run("--plugin-path", plugins.toString(), "drivers");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("plugintest (protocol)"), "the good plugin still loads");
    assertTrue(r.out().contains("vdi (format)"), "built-in drivers still work");
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().startsWith("WARNING: skipping plugin '" + broken.toUri().getPath()),
        r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  @Test
  void pluginsComeFromPluginPathEnvironmentAndHomeFolder() throws Exception {
    assertTrue(!Cli.ok("drivers").out().contains("plugintest"), "not registered without plugin");
    Path jar = pluginJar(dir.resolve("p1"));
    assertTrue(Cli.ok("--plugin-path", jar.toString(), "drivers").out()
        .contains("plugintest (protocol)"));
    assertTrue(Cli.ok("drivers", "--plugin-path=" + jar.getParent()).out()
        .contains("plugintest (protocol)"));
    Cli.Result env = Cli.run(Map.of(Env.PLUGIN_PATH_ENV, jar.toString()), false, "drivers",
        "--output=json");
    assertEquals(0, env.code());
    assertTrue(env.out().contains("\"name\": \"plugintest\""), env.out());
    Path home = dir.resolve("home");
    pluginJar(home.resolve("plugins"));
    String old = System.getProperty(Env.HOME_PROPERTY);
    System.setProperty(Env.HOME_PROPERTY, home.toString());
    try {
      assertTrue(Cli.ok("drivers").out().contains("plugintest (protocol)"));
      Cli.ok("create", "-f", "plugintest", "plugintest:x", "1M");
    } finally {
      if (old == null) {
        System.clearProperty(Env.HOME_PROPERTY);
      } else {
        System.setProperty(Env.HOME_PROPERTY, old);
      }
    }
  }

  @Test
  void aCompiledPluginJarIsListedAndUsableOnlyWhenOnThePluginPath() throws Exception {
    Path jar = PluginJars.build(dir.resolve("build"), dir.resolve("plugins"));
    Assertions.assertThrows(ClassNotFoundException.class,
        () -> Class.forName("org.example.stripes.StripesDriver"), "must not be on the class path");
    String img = PluginJars.NAME + ":1000000";
    assertFalse(Cli.ok("drivers").out().contains(PluginJars.NAME + " (protocol)"));
    Cli.run("info", img).assertOneLineError(1);
    Path out = dir.resolve("copy.raw");
    for (Cli.Result drivers : List.of(Cli.ok("--plugin-path", jar.toString(), "drivers"),
        Cli.run(Map.of(Env.PLUGIN_PATH_ENV, jar.getParent().toString()), false, "drivers"))) {
      assertTrue(drivers.out().contains(PluginJars.NAME + " (protocol): Plugin test disk"),
          drivers.out());
    }
    JsonNode info = Cli.ok("--plugin-path", jar.toString(), "info", "--output=json", img).json();
    assertEquals(1000000, info.get("virtual-size").asLong());
    Cli.Result conv = Cli.run(Map.of(Env.PLUGIN_PATH_ENV, jar.toString()), false, "convert",
        "-O", "raw", img, out.toString());
    assertEquals(0, conv.code(), conv.err());
    assertArrayEquals(PluginJars.expected(1000000), Files.readAllBytes(out));
  }

  @Test
  void aMissingPluginPathEntryIsOneLineError() {
    Cli.run("--plugin-path", dir.resolve("nothing-here").toString(), "drivers")
        .assertOneLineError(1);
  }
}
