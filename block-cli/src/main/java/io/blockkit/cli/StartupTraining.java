package io.blockkit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * Not a command: the {@code ./blockkit} launcher runs this once per jar build, recording the
 * classes it loads, and turns that list into a class-data sharing archive so later commands start
 * faster. It runs every command on small scratch images, so the archive holds what each command
 * needs whichever command the user happened to run first. It also unpacks JNA's native library
 * into the cache, sparing every later run the unpacking JNA would otherwise repeat.
 */
public final class StartupTraining {
  private StartupTraining() {}

  /** {@code args[0]}: a scratch folder; {@code args[1]}: where to put JNA's native library. */
  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    String vdi = dir.resolve("t.vdi").toString();
    String raw = dir.resolve("t.raw").toString();
    List<List<String>> commands = List.of(
        List.of("--help"), List.of("--version"), List.of("drivers"),
        List.of("create", "-f", "vdi", "-o", "help"),
        List.of("create", "-f", "vdi", vdi, "4M"), List.of("create", "-f", "raw", raw, "4M"),
        List.of("info", vdi), List.of("info", "--output=json", raw),
        List.of("map", vdi), List.of("map", "--output=json", raw),
        List.of("check", vdi), List.of("check", "--output=json", vdi),
        List.of("bench", "-w", "-c", "64", "-f", "raw", raw),
        List.of("convert", "-p", "-f", "raw", "-O", "vdi", raw, dir.resolve("c.vdi").toString()),
        List.of("convert", "-f", "vdi", "-O", "raw", vdi, dir.resolve("c.raw").toString()),
        List.of("compare", vdi, raw), List.of("compare", "-s", vdi, raw),
        List.of("info", dir.resolve("missing.vdi").toString()), List.of("info", "--bad-option"));
    PrintWriter sink = new PrintWriter(Writer.nullWriter());
    for (List<String> c : commands) {
      Main.run(c.toArray(String[]::new), sink, sink, Map.of(), false);
    }
    if (args.length > 1) {
      unpackJna(Path.of(args[1]));
    }
  }

  /** JNA looks in {@code jna.boot.library.path} first; the launcher points it here. */
  private static void unpackJna(Path to) throws IOException {
    String lib = System.mapLibraryName("jnidispatch");
    String resource = "/com/sun/jna/" + com.sun.jna.Platform.RESOURCE_PREFIX + "/" + lib;
    try (InputStream in = StartupTraining.class.getResourceAsStream(resource)) {
      if (in != null) {
        Files.createDirectories(to);
        Files.copy(in, to.resolve(lib), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
