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
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
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
        "running as root: modes not enforced (PermissionIT runs the tool as nobody)");
    Path f = dir.resolve("secret.raw");
    Files.write(f, new byte[4096]);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
    String line = Cli.run("info", f.toString()).assertOneLineError(1);
    assertTrue(line.contains("Permission denied"), line);
  }

  @Test
  void permissionDeniedOnCreateInReadOnlyFolder() throws Exception {
    assumeFalse("root".equals(System.getProperty("user.name")),
        "running as root: modes not enforced (PermissionIT runs the tool as nobody)");
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

  /** Starts qemu-io on {@code image} and returns once it holds the image open (its prompt). */
  private static Process qemuIoHolding(Path image, String format) throws Exception {
    Qemu.require();
    Process p = new ProcessBuilder("qemu-io", "-f", format, image.toString())
        .redirectErrorStream(true).start();
    StringBuilder seen = new StringBuilder();
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!seen.toString().contains("qemu-io>")) {
      if (System.nanoTime() > deadline || !p.isAlive() && p.getInputStream().available() == 0) {
        p.destroyForcibly();
        throw new AssertionError("qemu-io did not open " + image + ": " + seen);
      }
      if (p.getInputStream().available() > 0) {
        seen.append((char) p.getInputStream().read());
      } else {
        Thread.sleep(10);
      }
    }
    return p;
  }

  private static void stop(Process p) throws Exception {
    p.getOutputStream().close(); // end of input: qemu-io quits
    if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
  }

  @Test
  void imageLockedByQemuIoInAnotherProcess() throws Exception {
    Path f = dir.resolve("held.vdi");
    Cli.ok("create", "-f", "vdi", f.toString(), "4M");
    Process qemuIo = qemuIoHolding(f, "vdi");
    try {
      for (String[] args : List.of(new String[] {"info", f.toString()},
          new String[] {"check", f.toString()}, new String[] {"map", f.toString()},
          new String[] {"convert", "-O", "raw", f.toString(), dir.resolve("out.raw").toString()},
          new String[] {"bench", "-c", "1", f.toString()})) {
        String line = Cli.run(args).assertOneLineError(1);
        assertTrue(line.contains("locked by another process") && line.contains("held.vdi"), line);
      }
      assertTrue(Files.notExists(dir.resolve("out.raw")));
      Cli.run("compare", f.toString(), f.toString()).assertOneLineError(2);
      assertEquals(0, Cli.run("info", "-U", f.toString()).code(), "-U reads a locked image");
    } finally {
      stop(qemuIo);
    }
    assertEquals(0, Cli.run("check", f.toString()).code(), "the lock goes with the process");
  }

  @Test
  void imageHeldHereIsLockedForQemuAndForASecondBlockkitProcess() throws Exception {
    Qemu.require();
    // VDI: qemu-img info lets a raw image be read while another process writes it
    Path f = dir.resolve("mine.vdi");
    Cli.ok("create", "-f", "vdi", f.toString(), "1M");
    try (BlockDevice held = BlockRegistry.load().open(f.toString(),
        OpenParams.defaults().withFormat("vdi").withWarnings(w -> { }))) {
      assertEquals(1 << 20, held.size());
      Cli.Result qemu = Qemu.run("info", f.toString());
      assertEquals(1, qemu.code());
      assertTrue(qemu.err().contains("lock"), qemu.err());
      Cli.Result other = Proc.run(Proc.blockkit("info", f.toString()), Map.of(), 60);
      String line = other.assertOneLineError(1);
      assertTrue(line.contains("locked by another process"), line);
    }
  }

  /**
   * Runs the tool in a child JVM whose target folder is a 2 MiB tmpfs (a private mount namespace,
   * needs root and unshare), or else under a 2 MiB file-size limit (ulimit -f). Returns the result
   * and whether the disk was really full (ENOSPC) rather than the limit hit (EFBIG).
   */
  private record Full(Cli.Result result, boolean enospc) {}

  private Full runOnAFullDisk(Path target, String... args) throws Exception {
    String cmd = String.join(" ", Proc.blockkit(args).stream().map(ErrorPathTest::quote)
        .toList());
    if (!System.getProperty("os.name").startsWith("Linux")) {
      System.err.println("SKIPPED: disk-full test needs Linux (tmpfs or ulimit -f)");
      Assumptions.abort("not Linux");
    }
    String mount = "mount -t tmpfs -o size=2m none " + quote(target.toString());
    boolean tmpfs;
    try {
      tmpfs = Proc.run(List.of("unshare", "-m", "sh", "-c", mount), Map.of(), 30).code() == 0;
    } catch (java.io.IOException noUnshare) {
      tmpfs = false;
    }
    if (tmpfs) {
      return new Full(Proc.run(List.of("unshare", "-m", "sh", "-c", mount + " && exec " + cmd),
          Map.of(), 120), true);
    }
    System.err.println("NOTE: no private tmpfs mount possible; disk full simulated with ulimit -f");
    return new Full(Proc.run(List.of("sh", "-c", "ulimit -f 4096 && exec " + cmd), Map.of(), 120),
        false); // 4096 blocks of 512 bytes: 2 MiB
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  @Test
  void diskFullWhileConvertingRemovesTheTarget() throws Exception {
    Path src = dir.resolve("random.raw");
    byte[] bytes = new byte[6 << 20];
    new java.util.Random(3).nextBytes(bytes);
    Files.write(src, bytes);
    Path small = Files.createDirectory(dir.resolve("small"));
    for (String fmt : List.of("raw", "vdi")) {
      Path dst = small.resolve("out." + fmt);
      Full full = runOnAFullDisk(small, "convert", "-f", "raw", "-O", fmt, src.toString(),
          dst.toString());
      String line = full.result().assertOneLineError(1);
      assertTrue(line.contains(full.enospc() ? "No space left on device" : "File too large"),
          line);
      assertTrue(line.contains("out." + fmt), line);
      assertTrue(Files.notExists(dst), "the half-written target was left behind");
    }
    Full create = runOnAFullDisk(small, "create", "-f", "raw", "-o", "preallocation=full",
        small.resolve("big.raw").toString(), "8M");
    String line = create.result().assertOneLineError(1);
    assertTrue(line.contains(create.enospc() ? "No space left on device" : "File too large"),
        line);
  }

  @Test
  void corruptVdiHeadersGiveOneLineAndQemusExitCodes() throws Exception {
    Path good = dir.resolve("good.vdi");
    Cli.ok("create", "-f", "vdi", good.toString(), "4M");
    Path badSignature = Files.copy(good, dir.resolve("sig.vdi"));
    Path tooManyBlocks = Files.copy(good, dir.resolve("blocks.vdi"));
    Path badBlockSize = Files.copy(good, dir.resolve("bsize.vdi"));
    try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(badSignature.toFile(), "rw")) {
      r.seek(64);
      r.writeInt(0);
    }
    try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(tooManyBlocks.toFile(), "rw")) {
      r.seek(0x180);
      r.writeInt(0xffffff7f); // little-endian 0x7fffffff
    }
    try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(badBlockSize.toFile(), "rw")) {
      r.seek(0x178);
      r.writeInt(0x00300000); // little-endian 12288
    }
    for (Path img : List.of(badSignature, tooManyBlocks, badBlockSize)) {
      String f = img.toString();
      for (String[] args : List.of(new String[] {"info", "-f", "vdi", f},
          new String[] {"check", "-f", "vdi", f}, new String[] {"map", "-f", "vdi", f},
          new String[] {"convert", "-f", "vdi", "-O", "raw", f, dir.resolve("c.raw").toString()},
          new String[] {"compare", "-f", "vdi", f, good.toString()})) {
        int expected = Qemu.run(args).code();
        assertTrue(expected != 0, f + " " + List.of(args));
        String line = Cli.run(args).assertOneLineError(expected);
        assertTrue(line.contains(img.getFileName().toString()), line);
      }
    }
  }

  @Test
  void debugShowsTheStackTrace() {
    Cli.Result r = Cli.run("--debug", "info", dir.resolve("nope").toString());
    assertEquals(1, r.code());
    assertTrue(r.err().startsWith("blockkit: "), r.err());
    assertTrue(r.err().contains("\tat "), r.err());
  }
}
