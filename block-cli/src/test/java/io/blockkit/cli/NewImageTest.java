package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How create and convert put a new image in place of what the target name held before. */
class NewImageTest {
  @TempDir
  Path dir;

  private Path source(int size, int seed) throws Exception {
    Path src = dir.resolve("src-" + seed + ".raw");
    byte[] data = new byte[size];
    new java.util.Random(seed).nextBytes(data);
    Files.write(src, data);
    return src;
  }

  @Test
  void aReplacedTargetKeepsItsPermissions() throws Exception {
    Path src = source(1 << 20, 1);
    Path dst = dir.resolve("private.raw");
    Files.write(dst, new byte[10]);
    Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rw-r-----"));
    Cli.ok("convert", "-f", "raw", "-O", "raw", src.toString(), dst.toString());
    assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(dst));
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(dst)));
    Cli.ok("create", "-f", "vdi", dst.toString(), "1M");
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(dst)));
    assertEquals(List.of(), Interrupted.others(dir, src, dst));
  }

  @Test
  void aSymbolicLinkIsFollowed() throws Exception {
    Path src = source(1 << 20, 2);
    Path real = Files.write(dir.resolve("real.raw"), new byte[10]);
    Path link = Files.createSymbolicLink(dir.resolve("link.raw"), real.getFileName());
    Cli.ok("convert", "-f", "raw", "-O", "raw", src.toString(), link.toString());
    assertTrue(Files.isSymbolicLink(link));
    assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(real));
    Path dangling = Files.createSymbolicLink(dir.resolve("dangling.vdi"), Path.of("made.vdi"));
    Cli.ok("create", "-q", "-f", "vdi", dangling.toString(), "1M");
    assertTrue(Files.isSymbolicLink(dangling) && Files.isRegularFile(dir.resolve("made.vdi")));
    assertEquals(List.of(), Interrupted.others(dir, src, real, link, dangling,
        dir.resolve("made.vdi")));
  }

  /** As qemu-img: a target another writer holds is refused before any work, and kept. */
  @Test
  void aLockedTargetIsRefusedAndKept() throws Exception {
    Path src = source(1 << 20, 3);
    Path dst = dir.resolve("busy.raw");
    byte[] old = new byte[4096];
    java.util.Arrays.fill(old, (byte) 9);
    Files.write(dst, old);
    try (BlockDevice holder = BlockRegistry.load().open(dst.toString(),
        OpenParams.defaults().withFormat("raw").withWarnings(w -> { }))) {
      String line = Cli.run("convert", "-f", "raw", "-O", "raw", src.toString(), dst.toString())
          .assertOneLineError(1);
      assertTrue(line.contains("busy.raw"), line);
    }
    assertArrayEquals(old, Files.readAllBytes(dst));
    assertEquals(List.of(), Interrupted.others(dir, src, dst));
  }

  /**
   * A file created under the target's name while the convert runs belongs to someone else: the
   * convert fails rather than replace it, and removes its own image.
   */
  @Test
  void aTargetThatAppearsMeanwhileIsNotReplaced() throws Exception {
    Path slow = dir.resolve("slow.img");
    Cli.ok("create", "-f", "clitest", "-o", "read-delay-ms=200", slow.toString(), "8M");
    Path dst = dir.resolve("raced.vdi");
    CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> Cli.run("convert",
        "-m", "1", "-f", "clitest", "-O", "vdi", slow.toString(), dst.toString()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (Interrupted.others(dir, slow).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    byte[] theirs = "someone else's file".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Files.write(dst, theirs);
    String line = run.get(60, TimeUnit.SECONDS).assertOneLineError(1);
    assertTrue(line.contains("raced.vdi") && line.contains("exists"), line);
    assertArrayEquals(theirs, Files.readAllBytes(dst));
    assertEquals(List.of(), Interrupted.others(dir, slow, dst));
  }

  /** A device node is written in place (here it cannot be resized), never replaced by a file. */
  @Test
  void aDeviceNodeIsNeverReplacedByAFile() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mknod needs root");
    Path node = dir.resolve("null");
    Process p = new ProcessBuilder("mknod", node.toString(), "c", "1", "3").start();
    assumeTrue(p.waitFor() == 0, "mknod failed (no device nodes here)");
    Path src = source(4096, 4);
    Cli.Result r = Cli.run("convert", "-f", "raw", "-O", "raw", src.toString(), node.toString());
    assertEquals(1, r.code(), "qemu-img also fails: it cannot grow a device file. " + r.err());
    assertEquals("character device", kind(node));
    assertEquals(List.of(), Interrupted.others(dir, src, node));
  }

  /**
   * Every command that makes an image goes through the library's staging (io.blockkit.ops'
   * StagedImage, behind Create and Convert), so its clean-up is armed before the image exists and
   * the image appears only when complete: no other class of the tool or the library creates or
   * deletes images itself.
   */
  @Test
  void onlyStagedImageCreatesImages() throws Exception {
    Path cli = Path.of("src/main/java/io/blockkit/cli");
    Path ops = Path.of("../block-ops/src/main/java/io/blockkit/ops");
    assumeTrue(Files.isDirectory(cli) && Files.isDirectory(ops),
        "sources not found from " + Path.of("").toAbsolutePath());
    int checked = 0;
    for (Path folder : List.of(cli, ops)) {
      try (var files = Files.list(folder)) {
        for (Path f : files.toList()) {
          String text = Files.readString(f);
          if (!f.endsWith("StagedImage.java")) {
            assertTrue(!text.matches("(?s).*\\b(reg|registry|registry\\(\\))\\.create\\(.*")
                && !text.contains("protocol().create(") && !text.contains("protocol().delete(")
                && !text.contains("protocol.delete("),
                f + " creates or deletes an image itself; use Create or Convert");
          }
          checked++;
        }
      }
    }
    assertTrue(checked > 20, "only " + checked + " sources checked");
  }

  private static String kind(Path p) throws Exception {
    int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    return (mode & 0170000) == 0020000 ? "character device" : "mode " + Integer.toOctalString(mode);
  }
}
