package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the tool says about host files that cannot hold an image (issue 9): names with a trailing
 * slash (item 6), FIFOs, sockets and devices (item 7), a read-only file system (item 9). Where
 * qemu-img gives an answer, the exit code and the reason are qemu-img's.
 */
class HostFilesTest {
  @TempDir Path dir;

  /** The reason at the end of an error line ("...: Is a directory"). */
  private static String reason(String line) {
    return line.substring(line.lastIndexOf(": ") + 2).trim();
  }

  private void assertLikeQemu(String... args) throws Exception {
    Cli.Result theirs = Qemu.run(args);
    assertTrue(theirs.code() != 0, "qemu-img " + List.of(args) + " succeeded");
    List<String> theirLines = theirs.errLines();
    String line = Cli.run(args).assertOneLineError(theirs.code());
    assertEquals(reason(theirLines.get(theirLines.size() - 1)), reason(line),
        List.of(args) + ": " + line);
  }

  @Test
  void trailingSlashIsADirectoryAsForQemuImg() throws Exception {
    Qemu.require();
    Path src = dir.resolve("f.raw");
    Cli.ok("create", "-q", "-f", "raw", src.toString(), "1M");
    String nodir = dir.resolve("nodir") + "/";
    assertLikeQemu("convert", "-O", "raw", src.toString(), nodir); // Is a directory
    assertLikeQemu("create", "-f", "vdi", dir.resolve("x.vdi") + "/", "1M"); // Is a directory
    assertLikeQemu("create", "-f", "raw", src + "/", "1M"); // Is a directory
    assertLikeQemu("info", src + "/"); // Not a directory
    assertLikeQemu("check", src + "/"); // Not a directory
    assertLikeQemu("convert", "-O", "raw", src + "/", dir.resolve("out.raw").toString());
    assertLikeQemu("info", nodir); // No such file or directory
    assertFalse(Files.exists(dir.resolve("nodir")), "convert made a file of nodir/");
    assertFalse(Files.exists(dir.resolve("x.vdi")), "create made a file of x.vdi/");
    assertFalse(Files.exists(dir.resolve("out.raw")));
    assertEquals(1 << 20, Files.size(src), "create f.raw/ touched f.raw");
  }

  /** qemu-img hangs on a FIFO; blockkit must answer at once, with one line. */
  @Test
  void fifoSocketAndDevicesAreOneLineErrorsAtOnce() throws Exception {
    Path fifo = dir.resolve("fifo");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    Path sock = dir.resolve("sock");
    try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      s.bind(UnixDomainSocketAddress.of(sock));
      Path out = dir.resolve("out.raw");
      List<String[]> cases = new ArrayList<>();
      for (String f : List.of(fifo.toString(), sock.toString(), "/dev/null", "/dev/zero")) {
        cases.add(new String[] {"info", f});
        cases.add(new String[] {"check", f});
        cases.add(new String[] {"map", f});
        cases.add(new String[] {"convert", "-O", "raw", f, out.toString()});
      }
      cases.add(new String[] {"create", "-f", "raw", fifo.toString(), "1M"});
      cases.add(new String[] {"convert", "-O", "raw", "-f", "raw", "/dev/null", fifo.toString()});
      for (String[] args : cases) {
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> Cli.run(args),
            () -> List.of(args) + " blocked");
        String line = r.assertOneLineError(1);
        assertTrue(line.contains("Not a regular file or block device"), line);
        assertFalse(Files.exists(out), "a target was made from " + List.of(args));
      }
    }
    assertTrue(Files.exists(fifo), "the refused convert target was deleted");
  }

  /**
   * Writes to an image on a read-only mount (a tmpfs remounted read-only, in a private mount
   * namespace) say "Read-only file system", as qemu-img does, not "Permission denied".
   */
  @Test
  void readOnlyFileSystemIsReportedAsSuch() throws Exception {
    Qemu.require();
    Path src = dir.resolve("src.vdi");
    Cli.ok("create", "-q", "-f", "vdi", src.toString(), "1M");
    Path mnt = Files.createDirectory(dir.resolve("mnt"));
    String image = mnt.resolve("src.vdi").toString();
    String[][] cases = {{"check", "-r", "all", image}, {"create", "-f", "raw",
        mnt.resolve("new.raw").toString(), "1M"}, {"convert", "-O", "raw", src.toString(),
        mnt.resolve("copy.raw").toString()}, {"bench", "-w", "-c", "1", image}};
    for (String[] args : cases) {
      Cli.Result theirs = onReadOnlyMount(mnt, src, qemuImg(args));
      Cli.Result mine = onReadOnlyMount(mnt, src, Proc.blockkit(args));
      String line = mine.assertOneLineError(theirs.code());
      assertTrue(theirs.err().trim().endsWith("Read-only file system"), theirs.err());
      assertTrue(line.endsWith("Read-only file system"), List.of(args) + ": " + line);
    }
    Cli.Result info = onReadOnlyMount(mnt, src, Proc.blockkit("info", image));
    assertEquals(0, info.code(), "reading works: " + info.err());
  }

  private static List<String> qemuImg(String... args) {
    List<String> cmd = new ArrayList<>(List.of("qemu-img"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Runs {@code cmd} where {@code mnt} is a read-only tmpfs holding a copy of {@code src}. */
  private static Cli.Result onReadOnlyMount(Path mnt, Path src, List<String> cmd)
      throws Exception {
    List<String> all = new ArrayList<>(List.of("unshare", "-m", "sh", "-c",
        "mount -t tmpfs -o size=4m blockkit-test \"$1\" && cp \"$2\" \"$1\"/"
            + " && mount -o remount,ro \"$1\" && shift 2 && exec \"$@\"",
        "sh", mnt.toString(), src.toString()));
    all.addAll(cmd);
    requireMounts();
    return Proc.run(all, Map.of(), 120);
  }

  private static Boolean mounts;

  /** Skipped with a message without root and CAP_SYS_ADMIN; failed under CI=true with them. */
  private static synchronized void requireMounts() throws Exception {
    if (mounts == null) {
      Cli.Result r;
      try {
        r = Proc.run(List.of("unshare", "-m", "sh", "-c",
            "mount -t tmpfs none /mnt && mount -o remount,ro /mnt"), Map.of(), 30);
      } catch (java.io.IOException noUnshare) {
        r = new Cli.Result(127, "", String.valueOf(noUnshare.getMessage()));
      }
      mounts = r.code() == 0;
      if (!mounts && "true".equals(System.getenv("CI")) && hasSysAdmin()) {
        fail("root with CAP_SYS_ADMIN under CI=true, yet no private read-only tmpfs: " + r.err());
      }
    }
    if (!mounts) {
      System.err.println("SKIPPED: read-only file system test needs unshare and mount (root)");
      Assumptions.abort("no private mounts");
    }
  }

  private static boolean hasSysAdmin() throws java.io.IOException {
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("CapEff:")) {
        return (Long.parseUnsignedLong(l.substring(7).trim(), 16) >>> 21 & 1) != 0;
      }
    }
    return false;
  }
}
