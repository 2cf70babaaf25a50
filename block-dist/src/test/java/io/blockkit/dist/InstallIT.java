package io.blockkit.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Installs the archive the way the README says (unpack it, put {@code bin} on the PATH) into an
 * empty folder whose name has a space, and runs the tool with a PATH that holds java and the few
 * programs the launcher uses, and no Maven.
 */
class InstallIT {
  static final String VERSION = System.getProperty("blockkit.version");
  static final Path DIST = Path.of(System.getProperty("blockkit.dist", "target"));

  @TempDir
  static Path tmp;
  static Path home;
  static Path tools;

  @BeforeAll
  static void install() throws Exception {
    Path tarball = DIST.resolve("blockkit-" + VERSION + ".tar.gz");
    assertTrue(Files.isRegularFile(tarball), tarball + " was not built");
    home = unpack(tarball, tmp.resolve("install dir"));
    tools = Files.createDirectories(tmp.resolve("tools"));
    // what bin/blockkit runs besides java; no mvn
    for (String t : List.of("sh", "readlink", "dirname", "cksum", "stat", "mkdir", "rm", "mv",
        "sed")) {
      Files.createSymbolicLink(tools.resolve(t), which(t));
    }
    Files.createSymbolicLink(tools.resolve("java"),
        Path.of(System.getProperty("java.home"), "bin", "java"));
    Files.createDirectories(tmp.resolve("user"));
  }

  @Test
  void archiveHoldsTheToolUnderOneFolderWithFixedTimes() throws Exception {
    for (String f : List.of("bin/blockkit", "lib/blockkit.jar", "man/man1/blockkit.1",
        "completion/blockkit.bash", "completion/blockkit.zsh", "LICENSE", "README.md")) {
      assertTrue(Files.isRegularFile(home.resolve(f)), f + " is missing");
    }
    assertTrue(Files.getPosixFilePermissions(home.resolve("bin/blockkit"))
        .contains(PosixFilePermission.OTHERS_EXECUTE));
    Result list = run(List.of("tar", "-tvzf",
        DIST.resolve("blockkit-" + VERSION + ".tar.gz").toString()),
        Map.of("PATH", System.getenv("PATH")));
    assertEquals(0, list.code, list.err);
    Set<String> times = new java.util.TreeSet<>();
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^\\S+ \\S+\\s+\\d+ (\\S+ \\S+) (\\S+)$").matcher(list.out);
    while (m.find()) {
      times.add(m.group(1));
      names.add(m.group(2));
    }
    assertFalse(names.isEmpty(), list.out);
    assertTrue(names.stream().allMatch(n -> n.startsWith("blockkit-" + VERSION + "/")), list.out);
    // every entry carries the build's fixed time stamp, not the time it was built
    assertEquals(1, times.size(), "entry times: " + times);
  }

  @Test
  void versionHelpAndDriversRunWithJavaFromThePath() throws Exception {
    Result v = blockkit(Map.of(), "--version");
    assertEquals(0, v.code, v.err);
    assertTrue(v.out.startsWith("blockkit version " + VERSION + "\n"), v.out);
    assertEquals("", v.err);

    Result h = blockkit(Map.of(), "--help");
    assertEquals(0, h.code, h.err);
    for (String c : List.of("info", "create", "check", "convert", "serve", "drivers")) {
      assertTrue(h.out.contains("\n  " + c + " ") || h.out.contains("\n  " + c + "\n"), h.out);
    }

    Result d = blockkit(Map.of(), "drivers");
    assertEquals(0, d.code, d.err);
    for (String driver : List.of("vdi (format)", "vpc (format)", "raw (format)",
        "file (protocol)", "nbd (protocol)", "http (protocol)", "s3 (protocol)")) {
      assertTrue(d.out.contains(driver), driver + " missing from\n" + d.out);
    }
  }

  @Test
  void createInfoAndCheckAnImage() throws Exception {
    Path image = Files.createDirectories(tmp.resolve("work")).resolve("disk.vdi");
    Result c = blockkit(Map.of(), "create", "-f", "vdi", image.toString(), "64M");
    assertEquals(0, c.code, c.err);
    assertTrue(Files.size(image) > 0);

    Result i = blockkit(Map.of("JAVA_HOME", System.getProperty("java.home")), "info",
        "--output=json", image.toString());
    assertEquals(0, i.code, i.err);
    assertTrue(i.out.contains("\"virtual-size\": 67108864"), i.out);
    assertTrue(i.out.contains("\"format\": \"vdi\""), i.out);

    Result k = blockkit(Map.of(), "check", image.toString());
    assertEquals(0, k.code, k.out + k.err);
    assertTrue(k.out.contains("No errors were found on the image."), k.out);
  }

  @Test
  void runsThroughASymbolicLinkAndKeepsItsStartUpCacheInTheUsersCache() throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("user/bin"));
    Path link = bin.resolve("blockkit");
    if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      Files.createSymbolicLink(link, home.resolve("bin/blockkit"));
    }
    Result r = run(List.of(link.toString(), "--version"), Map.of());
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.startsWith("blockkit version " + VERSION), r.out);
    try (Stream<Path> s = Files.list(tmp.resolve("user/.cache/blockkit"))) {
      assertTrue(s.anyMatch(p -> p.getFileName().toString().endsWith(".jsa")),
          "no class-data sharing archive in ~/.cache/blockkit");
    }
  }

  @Test
  void javaOlderThan17IsRefusedBeforeItRuns() throws Exception {
    Path jdk = Files.createDirectories(tmp.resolve("jdk11/bin"));
    Files.writeString(jdk.resolve("../release"), "IMPLEMENTOR=\"Test\"\nJAVA_VERSION=\"11.0.22\"\n");
    Path marker = tmp.resolve("jdk11-ran");
    Path java = jdk.resolve("java");
    Files.writeString(java, "#!/bin/sh\ntouch '" + marker + "'\n");
    java.toFile().setExecutable(true);
    Result r = blockkit(Map.of("JAVA_HOME", jdk.getParent().toString()), "--version");
    assertEquals(1, r.code);
    assertEquals("blockkit: blockkit needs Java 17 or later, but " + java + " is Java 11.0.22: "
        + "set JAVA_HOME to a Java 17 or later installation\n", r.err);
    assertFalse(Files.exists(marker), "the old java was started");
  }

  @Test
  void missingJavaIsOneClearLine() throws Exception {
    Path noJava = Files.createDirectories(tmp.resolve("tools-without-java"));
    try (Stream<Path> s = Files.list(tools)) {
      for (Path t : s.filter(p -> !p.getFileName().toString().equals("java")).toList()) {
        Path l = noJava.resolve(t.getFileName());
        if (!Files.exists(l, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.createSymbolicLink(l, Files.readSymbolicLink(t));
        }
      }
    }
    Result r = run(List.of(home.resolve("bin/blockkit").toString(), "info", "x"),
        Map.of("PATH", noJava.toString()));
    assertEquals(1, r.code);
    assertTrue(r.err.startsWith("blockkit: Java not found: blockkit needs Java 17 or later;"),
        r.err);
    assertEquals(1, r.err.lines().count(), r.err);

    Result bad = blockkit(Map.of("JAVA_HOME", tmp.resolve("nowhere").toString()), "--version");
    assertEquals(1, bad.code);
    assertTrue(bad.err.startsWith("blockkit: JAVA_HOME is '" + tmp.resolve("nowhere")), bad.err);
  }

  @Test
  void manPageRendersWithoutWarningsDocumentsEveryCommandAndIsFoundFromThePath() throws Exception {
    Path man = require("man");
    Result page = run(List.of(man.toString(), "--warnings", "-l",
        home.resolve("man/man1/blockkit.1").toString()),
        Map.of("PATH", System.getenv("PATH"), "MANPAGER", "cat", "MANWIDTH", "100"));
    assertEquals(0, page.code, page.err);
    assertEquals("", page.err);
    String text = page.out.replaceAll(".\b", ""); // no overstriking
    assertTrue(text.startsWith("BLOCKKIT(1)"), text);
    for (String c : commands()) {
      assertTrue(text.contains("\n   blockkit " + c + "\n"), "no section for " + c);
    }
    assertTrue(text.contains("--backing-chain"), "info's options are missing");

    // with bin on the PATH, as the README installs it, man finds the page by itself
    Result found = run(List.of(man.toString(), "-w", "blockkit"), Map.of("PATH",
        home.resolve("bin") + ":" + System.getenv("PATH")));
    assertEquals(home.resolve("man/man1/blockkit.1") + "\n", found.out, found.err);
  }

  @Test
  void bashCompletionLoadsAndCompletesCommandsAndOptions() throws Exception {
    Path bash = require("bash");
    String script = "source '" + home.resolve("completion/blockkit.bash") + "'\n"
        + "complete -p blockkit\n"
        + "complete_line() { COMP_WORDS=($1); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));"
        + " COMP_LINE=\"$1\"; COMP_POINT=${#COMP_LINE}; COMPREPLY=();"
        + " _complete_blockkit blockkit \"${COMP_WORDS[COMP_CWORD]}\" 2>/dev/null;"
        + " echo \"$1 => ${COMPREPLY[*]}\"; }\n"
        + "complete_line 'blockkit dri'\n"
        + "complete_line 'blockkit info --backing'\n";
    Result r = run(List.of(bash.toString(), "-c", script), Map.of("PATH", System.getenv("PATH")));
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.startsWith("complete ") && r.out.contains("-F _complete_blockkit blockkit"),
        r.out);
    assertTrue(r.out.contains("blockkit dri => drivers\n"), r.out);
    assertTrue(r.out.contains("blockkit info --backing => --backing-chain\n"), r.out);
  }

  @Test
  void zshCompletionRegistersBlockkit() throws Exception {
    Path zsh = require("zsh");
    String script = "autoload -U compinit && compinit -u -D\n"
        + "source '" + home.resolve("completion/blockkit.zsh") + "'\n"
        + "print -r -- \"blockkit => ${_comps[blockkit]}\"\n";
    Result r = run(List.of(zsh.toString(), "-f", "-c", script),
        Map.of("PATH", System.getenv("PATH"), "HOME", tmp.resolve("user").toString()));
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.matches("(?s).*blockkit => \\S+.*"), "zsh has no completion: " + r.out
        + r.err);
  }

  /** The runtime archive (-Pruntime), run with no Java anywhere on the PATH. */
  @Test
  void runtimeArchiveRunsWithoutAnyJava() throws Exception {
    Path tarball;
    try (Stream<Path> s = Files.list(DIST)) {
      tarball = s.filter(p -> p.getFileName().toString()
          .matches("blockkit-" + Pattern.quote(VERSION) + "-runtime-.*\\.tar\\.gz"))
          .findFirst().orElse(null);
    }
    assumeTrue(tarball != null, "SKIPPED: no runtime archive (built with -Pruntime only)");
    Path rt = unpack(tarball, tmp.resolve("runtime install"));
    Path noJava = Files.createDirectories(tmp.resolve("runtime-tools"));
    for (String t : List.of("sh", "readlink", "dirname", "cksum", "stat", "mkdir", "rm", "mv")) {
      Files.createSymbolicLink(noJava.resolve(t), which(t));
    }
    Map<String, String> env = Map.of("PATH", noJava.toString());
    Result v = run(List.of(rt.resolve("bin/blockkit").toString(), "--version"), env);
    assertEquals(0, v.code, v.err);
    assertTrue(v.out.contains("blockkit version " + VERSION), v.out);
    Path image = tmp.resolve("runtime.vdi");
    String bin = rt.resolve("bin/blockkit").toString();
    assertEquals(0, run(List.of(bin, "create", "-f", "vdi", image.toString(), "8M"), env).code);
    Result i = run(List.of(bin, "info", image.toString()), env);
    assertTrue(i.out.contains("file format: vdi"), i.out + i.err);
    Result k = run(List.of(bin, "check", image.toString()), env);
    assertEquals(0, k.code, k.out + k.err);
  }

  /** The command names, as the installed tool's --help lists them. */
  private static List<String> commands() throws Exception {
    Result h = blockkit(Map.of(), "--help");
    int at = h.out.indexOf("Commands:");
    assertTrue(at >= 0, h.out);
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^  (\\w+)\\b").matcher(h.out.substring(at));
    while (m.find()) {
      names.add(m.group(1));
    }
    assertTrue(names.size() >= 10, names.toString());
    return names;
  }

  private static Path unpack(Path tarball, Path into) throws Exception {
    Files.createDirectories(into);
    Result r = run(List.of("tar", "-xzf", tarball.toString(), "-C", into.toString()),
        Map.of("PATH", System.getenv("PATH")));
    assertEquals(0, r.code, r.err);
    try (Stream<Path> s = Files.list(into)) {
      List<Path> top = s.toList();
      assertEquals(List.of(into.resolve("blockkit-" + VERSION)), top);
    }
    return into.resolve("blockkit-" + VERSION);
  }

  /** bin/blockkit with the test PATH (java, no mvn) and a user of its own, plus {@code env}. */
  private static Result blockkit(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(home.resolve("bin/blockkit").toString());
    cmd.addAll(List.of(args));
    return run(cmd, env);
  }

  private static Result run(List<String> cmd, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> e = pb.environment();
    e.clear();
    e.put("PATH", tools == null ? System.getenv("PATH") : tools.toString());
    e.put("HOME", tmp.resolve("user").toString());
    e.put("LC_ALL", "C.UTF-8");
    e.putAll(env);
    Path out = Files.createTempFile(tmp, "out", ".txt");
    Path err = Files.createTempFile(tmp, "err", ".txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process p = pb.start();
    if (!p.waitFor(180, java.util.concurrent.TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + cmd);
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static Path which(String tool) {
    for (String dir : System.getenv("PATH").split(":")) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /** A program the test needs: skipped with a message if missing, a failure under CI=true. */
  private static Path require(String tool) {
    Path p = which(tool);
    if (p == null && "true".equals(System.getenv("CI"))) {
      throw new AssertionError(tool + " is not installed (CI=true: .ci/run installs it)");
    }
    assumeTrue(p != null, "SKIPPED: " + tool + " is not installed");
    return p;
  }

  private record Result(int code, String out, String err) {}
}
