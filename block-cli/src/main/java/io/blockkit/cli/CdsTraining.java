package io.blockkit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * The launcher's training run for class-data sharing: runs every command once, in-process, on
 * small scratch images (commands a built-in format cannot do, such as commit, fail here, after
 * loading their classes), so the archive made at exit holds the classes of all of them (an archive
 * made by whichever command happened to run first would leave the others' classes out and their
 * start-up slow). Output is discarded; the scratch folder is removed. With an argument, it also
 * unpacks JNA's native library into that folder, where the launcher points JNA
 * ({@code jna.boot.library.path}) so that later runs skip the unpacking JNA repeats on each start.
 */
final class CdsTraining {
  private CdsTraining() {}

  public static void main(String[] args) throws IOException {
    Path dir = Files.createTempDirectory("blockkit-cds-");
    try {
      String raw = dir.resolve("a.raw").toString();
      String vdi = dir.resolve("b.vdi").toString();
      String copy = dir.resolve("c.vdi").toString();
      String back = dir.resolve("d.raw").toString();
      String[][] commands = {
        {"--help"},
        {"--version"},
        {"create", "-f", "raw", raw, "4M"},
        {"bench", "-w", "-f", "raw", "-c", "64", "-d", "2", "--pattern", "7", raw},
        {"create", "-f", "vdi", "-o", "preallocation=off", vdi, "8M"},
        {"convert", "-f", "raw", "-O", "vdi", raw, copy},
        {"convert", "-p", "-O", "raw", copy, back},
        {"info", vdi},
        {"info", "--output=json", copy},
        {"check", copy},
        {"check", "--output=json", copy},
        {"map", copy},
        {"map", "--output=json", copy},
        {"compare", raw, copy},
        {"bench", "-c", "64", "-d", "2", copy},
        {"drivers"},
        {"create", "-f", "vdi", "-o", "help"},
        {"compare", "-s", "-p", raw, copy},
        {"info", "--backing-chain", copy},
        {"info", "--backing-chain", "--output=json", copy},
        {"resize", "-f", "raw", raw, "+1M"},
        {"resize", "-f", "raw", "--shrink", raw, "4M"},
        {"measure", "-O", "raw", "--size", "1G"},
        {"measure", "--output=json", "-O", "vdi", raw},
        {"amend", "-f", "vdi", "-o", "help"},
        {"compact", copy},
        {"commit", "-f", "raw", raw},
        {"rebase", "-u", "-b", raw, "-F", "raw", copy},
        {"info", dir.resolve("missing.vdi").toString()},
        {"info", "--no-such-option"},
      };
      // what Main.main does around Main.run
      HostBytes.arguments(args);
      HostBytes.printStream(OutputStream.nullOutputStream(), false).print("x");
      PrintWriter sink = new PrintWriter(Writer.nullWriter());
      for (String[] c : commands) {
        Main.run(c, sink, sink, Map.of(), false);
      }
      if (args.length > 0) {
        unpackJna(Path.of(args[0]));
      }
    } finally {
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void unpackJna(Path to) throws IOException {
    String lib = System.mapLibraryName("jnidispatch");
    String resource = "/com/sun/jna/" + com.sun.jna.Platform.RESOURCE_PREFIX + "/" + lib;
    try (InputStream in = CdsTraining.class.getResourceAsStream(resource)) {
      if (in != null) {
        Files.createDirectories(to);
        Files.copy(in, to.resolve(lib), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
