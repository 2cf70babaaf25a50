package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What start-up loads, read from the class-loading log of a fresh JVM running the tool: one
 * command's class for that command (start-up must not grow with the number of commands), and no
 * JNA for commands that open no host file.
 */
class StartupClassesTest {
  @TempDir
  Path dir;

  /** The classes a fresh JVM loads running {@code blockkit args}, after checking it succeeded. */
  private List<String> loadedClasses(String... args) throws IOException, InterruptedException {
    Path log = dir.resolve("classes-" + System.nanoTime() + ".log");
    Cli.Result r = Proc.run(Proc.blockkit(List.of("-Xlog:class+load=info:file=" + log), args),
        Map.of(), 120);
    assertEquals(0, r.code(), r.err());
    List<String> classes = new ArrayList<>();
    for (String line : Files.readAllLines(log)) {
      // "[0.012s][info][class,load] java.lang.Object source: ..."
      int start = line.indexOf("] ", line.indexOf("class,load")) + 2;
      int end = line.indexOf(' ', start);
      classes.add(line.substring(start, end < 0 ? line.length() : end));
    }
    assertTrue(classes.contains(Main.class.getName()), "no class-loading log read from " + log);
    return classes;
  }

  private static TreeSet<String> commandClasses(List<String> loaded) {
    TreeSet<String> commands = new TreeSet<>();
    for (String name : BlockkitCommand.NAMES) {
      String cls = BlockkitCommand.command(name).getName();
      if (loaded.contains(cls)) {
        commands.add(cls);
      }
    }
    return commands;
  }

  @Test
  void runningOneCommandLoadsThatCommandOnly() throws Exception {
    Path img = dir.resolve("small.raw");
    Files.write(img, new byte[65536]);
    List<String> loaded = loadedClasses("info", img.toString());
    assertEquals(new TreeSet<>(List.of(InfoCommand.class.getName())), commandClasses(loaded));
  }

  @Test
  void versionBuildsNoCommand() throws Exception {
    assertEquals(new TreeSet<>(), commandClasses(loadedClasses("--version")));
    assertEquals(new TreeSet<>(), commandClasses(loadedClasses("-V")));
    // with help asked too, the commands are listed again
    assertEquals(BlockkitCommand.NAMES.size(), commandClasses(loadedClasses("-V", "-h")).size());
  }

  @Test
  void topLevelHelpStillBuildsEveryCommand() throws Exception {
    List<String> loaded = loadedClasses("--help");
    assertEquals(BlockkitCommand.NAMES.size(), commandClasses(loaded).size(), loaded.toString());
  }

  @Test
  void commandsThatOpenNoHostFileLoadNoJna() throws Exception {
    String[][] commands = {
      {"--version"}, {"--help"}, {"info", "--help"}, {"drivers"},
      {"create", "-f", "vdi", "-o", "help"}, {"measure", "-O", "raw", "--size", "1G"},
    };
    for (String[] c : commands) {
      List<String> jna = loadedClasses(c).stream().filter(n -> n.startsWith("com.sun.jna."))
          .toList();
      assertEquals(List.of(), jna, "JNA loaded by: blockkit " + String.join(" ", c));
    }
  }

  @Test
  void withoutJnaOnTheClassPathImagesThatAreNoHostFilesStillOpen() throws Exception {
    String path = System.getProperty("java.class.path");
    String withoutJna = String.join(java.io.File.pathSeparator, java.util.Arrays.stream(
        path.split(java.io.File.pathSeparator)).filter(e -> !e.contains("jna")).toList());
    assertTrue(withoutJna.length() < path.length(), "no JNA jar on the class path: " + path);
    List<String> cmd = new ArrayList<>(List.of(Proc.javaBin(), "-cp", withoutJna,
        Main.class.getName(), "info", "-f", "raw", "memory:startup-no-such-image"));
    Cli.Result r = Proc.run(cmd, Map.of(), 120);
    // the memory protocol's own answer, not a NoClassDefFoundError from the JNA preload
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains("memory:startup-no-such-image") && !r.err().contains("jna"),
        r.err());
  }
}
