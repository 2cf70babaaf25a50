package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every user mistake or bad image: one 'blockkit: ...' line, non-zero exit, no stack trace. */
class ErrorPathTest {
  @TempDir
  Path dir;

  @Test
  void missingFile() {
    String line = Cli.run("info", dir.resolve("nope.vdi").toString()).assertOneLineError(1);
    assertTrue(line.contains("nope.vdi") && line.contains("No such file"), line);
  }

  @Test
  void directory() {
    String line = Cli.run("info", dir.toString()).assertOneLineError(1);
    assertTrue(line.contains("directory"), line);
  }

  @Test
  void permissionDenied() throws Exception {
    assumeFalse("root".equals(System.getProperty("user.name")),
        "running as root: permissions are not enforced");
    Path f = dir.resolve("secret.raw");
    Files.write(f, new byte[4096]);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
    String line = Cli.run("info", f.toString()).assertOneLineError(1);
    assertTrue(line.contains("Permission denied"), line);
  }

  @Test
  void permissionDeniedOnCreateInReadOnlyFolder() throws Exception {
    assumeFalse("root".equals(System.getProperty("user.name")),
        "running as root: permissions are not enforced");
    Path ro = Files.createDirectory(dir.resolve("ro"));
    Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
    String line = Cli.run("create", "-f", "raw", ro.resolve("x.raw").toString(), "1M")
        .assertOneLineError(1);
    assertTrue(line.contains("Permission denied"), line);
  }

  @Test
  void malformedSize() {
    String line = Cli.run("create", "-f", "raw", dir.resolve("x.raw").toString(), "12Q")
        .assertOneLineError(1);
    assertTrue(line.contains("12Q"), line);
    assertTrue(Files.notExists(dir.resolve("x.raw")));
    Cli.run("create", "-f", "raw", dir.resolve("x.raw").toString(), "-5").assertOneLineError(1);
    Cli.run("map", "--start-offset", "abc", dir.resolve("x.raw").toString()).assertOneLineError(1);
  }

  @Test
  void missingSize() {
    String line = Cli.run("create", "-f", "raw", "memory:nosize-" + UUID.randomUUID())
        .assertOneLineError(1);
    assertTrue(line.contains("size"), line);
  }

  @Test
  void unknownFormat() {
    String line = Cli.run("create", "-f", "qcow9", "memory:x-" + UUID.randomUUID(), "1M")
        .assertOneLineError(1);
    assertTrue(line.contains("qcow9") && line.contains("raw"), line);
    Cli.run("info", "-f", "qcow9", "memory:y").assertOneLineError(1);
  }

  @Test
  void unknownAndMalformedOptions() {
    String img = "memory:opt-" + UUID.randomUUID();
    String line = Cli.run("create", "-f", "raw", "-o", "colour=blue", img, "1M")
        .assertOneLineError(1);
    assertTrue(line.contains("colour") && line.contains("preallocation"), line);
    line = Cli.run("create", "-f", "raw", "-o", "preallocation=maybe", img, "1M")
        .assertOneLineError(1);
    assertTrue(line.contains("maybe") && line.contains("full"), line);
    Cli.run("create", "-f", "raw", "-o", ",,,=", img, "1M").assertOneLineError(1);
  }

  @Test
  void usageErrorsFromTheParser() {
    Cli.run("info", "--frobnicate", "x").assertOneLineError(1);
    Cli.run("info").assertOneLineError(1);
    Cli.run("transmogrify").assertOneLineError(1);
    Cli.run("info", "--output=xml", "memory:x").assertOneLineError(1);
    Cli.run("convert", "-m", "99", "memory:a", "memory:b").assertOneLineError(1);
    Cli.run("convert", "-S", "100", "memory:a", "memory:b").assertOneLineError(1);
    Cli.run("convert", "--target-is-zero", "memory:a", "memory:b").assertOneLineError(1);
  }

  @Test
  void badRepairArgumentUsesQemusMessage() {
    String line = Cli.run("check", "-r", "everything", "memory:x").assertOneLineError(1);
    assertEquals("blockkit: --repair (-r) expects 'leaks' or 'all', not 'everything'", line);
  }

  @Test
  void imageLockedByAnotherUser() throws Exception {
    Path f = dir.resolve("locked.raw");
    Cli.ok("create", "-f", "raw", f.toString(), "1M");
    BlockRegistry reg = BlockRegistry.load();
    try (BlockDevice held = reg.open(f.toString(),
        OpenParams.defaults().withFormat("raw").withWarnings(w -> { }))) {
      assertEquals(1 << 20, held.size());
      String line = Cli.run("info", f.toString()).assertOneLineError(1);
      assertTrue(line.contains("locked"), line);
      assertEquals(0, Cli.run("info", "-U", f.toString()).code(), "-U reads a locked image");
    }
  }

  @Test
  void corruptImage() throws Exception {
    Path f = dir.resolve("short.img");
    byte[] head = new byte[100];
    System.arraycopy(CheckableFormat.MAGIC, 0, head, 0, CheckableFormat.MAGIC.length);
    Files.write(f, head);
    String line = Cli.run("info", f.toString()).assertOneLineError(1);
    assertTrue(line.contains("Corrupt image") && line.contains("short.img"), line);
  }

  @Test
  void diskFullWhileWriting() throws Exception {
    String src = "memory:full-src-" + UUID.randomUUID();
    Cli.ok("create", "-f", "raw", src, "4M");
    Path data = dir.resolve("data.bin");
    byte[] bytes = new byte[4 << 20];
    java.util.Arrays.fill(bytes, (byte) 7);
    Files.write(data, bytes);
    Path dst = dir.resolve("full.raw");
    Cli.ok("create", "-f", "raw", dst.toString(), "4M");
    String line = Cli.run("convert", "-n", "--target-image-opts", "-O", "raw", data.toString(),
        "driver=raw,file.driver=blkdebug,file.fail-after-bytes=1M,file.file.filename=" + dst)
        .assertOneLineError(1);
    assertTrue(line.contains("full.raw"), line);
  }

  @Test
  void debugShowsTheStackTrace() {
    Cli.Result r = Cli.run("--debug", "info", dir.resolve("nope").toString());
    assertEquals(1, r.code());
    assertTrue(r.err().startsWith("blockkit: "), r.err());
    assertTrue(r.err().contains("\tat "), r.err());
  }
}
