package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "Permission denied", for real. Root bypasses file modes, so when the tests run as root (as in
 * CI) the tool runs as user nobody through {@code setpriv}; it runs from a copy of the shaded jar
 * (this test runs in the package phase, after shading) because nobody cannot read ~/.m2.
 */
class PermissionIT {
  @TempDir
  Path dir;

  private Path jar;
  private Path home;

  @BeforeEach
  void setUp() throws Exception {
    Path built = Path.of("target", "blockkit.jar").toAbsolutePath();
    if (!Files.isRegularFile(built)) {
      System.err.println("SKIPPED: " + built + " not built; run in the package phase");
      Assumptions.abort("shaded jar missing");
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    jar = Files.copy(built, dir.resolve("blockkit.jar"));
    home = Files.createDirectory(dir.resolve("home"));
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
  }

  /** The command, as nobody when we are root. */
  private List<String> unprivileged(String... command) {
    List<String> cmd = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      if (!Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
        System.err.println("SKIPPED: running as root without setpriv; permissions not enforced");
        Assumptions.abort("root without setpriv");
      }
      cmd.addAll(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
    }
    cmd.addAll(List.of(command));
    return cmd;
  }

  private Cli.Result blockkit(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Proc.javaBin(), "-Djava.io.tmpdir=" + home,
        "-Duser.home=" + home, "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    return Proc.run(unprivileged(cmd.toArray(String[]::new)), Map.of("HOME", home.toString()), 60);
  }

  private Cli.Result qemuImg(String... args) throws Exception {
    Qemu.require();
    List<String> cmd = new ArrayList<>(List.of("qemu-img"));
    cmd.addAll(List.of(args));
    return Proc.run(unprivileged(cmd.toArray(String[]::new)), Map.of("HOME", home.toString()), 60);
  }

  @Test
  void unreadableImageAndUnwritableFolderSayPermissionDenied() throws Exception {
    Path secret = dir.resolve("secret.vdi");
    Cli.ok("create", "-q", "-f", "vdi", secret.toString(), "1M");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("---------"));
    Path readOnly = Files.createDirectory(dir.resolve("ro"));
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    Path image = dir.resolve("image.vdi");
    Cli.ok("create", "-q", "-f", "vdi", image.toString(), "1M");
    Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("r--r--r--"));

    String[][] cases = {{"info", secret.toString()}, {"check", secret.toString()},
        {"create", "-f", "raw", readOnly.resolve("new.raw").toString(), "1M"},
        {"convert", "-O", "raw", image.toString(), readOnly.resolve("copy.raw").toString()},
        {"check", "-r", "all", image.toString()}};
    for (String[] args : cases) {
      Cli.Result theirs = qemuImg(args);
      Cli.Result mine = blockkit(args);
      String line = mine.assertOneLineError(theirs.code());
      assertTrue(line.contains("Permission denied"), List.of(args) + ": " + line);
    }
    assertTrue(Files.notExists(readOnly.resolve("new.raw")));
    assertEquals(0, blockkit("info", image.toString()).code(), "a read-only image reads fine");
  }
}
