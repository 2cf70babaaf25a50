package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * qcow2 internal snapshots made by qemu-img, listed and read by blockkit: {@code snapshot -l},
 * {@code info} and {@code convert -l} against qemu-img's own output on the same image.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotCliTest {
  private Path dir;
  private Path img;

  @BeforeAll
  void image(@TempDir Path tmp) throws Exception {
    Qemu.require();
    dir = tmp;
    img = dir.resolve("snaps.qcow2");
    String f = img.toString();
    Qemu.run("create", "-q", "-f", "qcow2", f, "2M");
    Qemu.io("-f", "qcow2", "-c", "write -P 1 0 128k", f);
    assertEquals(0, Qemu.run("snapshot", "-c", "first", f).code());
    Qemu.io("-f", "qcow2", "-c", "write -P 2 64k 128k", f);
    assertEquals(0, Qemu.run("snapshot", "-c", "second snap", f).code());
    Qemu.io("-f", "qcow2", "-c", "write -P 3 1M 64k", f);
  }

  @Test
  void listIsQemusTable() throws Exception {
    String theirs = Qemu.run("snapshot", "-l", img.toString()).out();
    assertTrue(theirs.contains("second snap"), theirs);
    assertEquals(theirs, Cli.ok("snapshot", "-l", img.toString()).out());
    assertEquals(theirs, Cli.ok("snapshot", img.toString()).out(), "-l is the default");
  }

  @Test
  void jsonListHasQemuInfosSnapshotObjects() throws Exception {
    JsonNode theirs = Cli.JSON.readTree(Qemu.run("info", "--output=json", img.toString()).out());
    JsonNode mine = Cli.ok("snapshot", "-l", "--output=json", img.toString()).json();
    assertEquals(2, mine.size());
    assertEquals(theirs.get("snapshots"), mine);
  }

  @Test
  void infoShowsTheSnapshotsLikeQemu() throws Exception {
    assertEquals(Qemu.run("info", img.toString()).out(), Cli.ok("info", img.toString()).out());
    JsonNode theirs = Cli.JSON.readTree(Qemu.run("info", "--output=json", img.toString()).out());
    assertEquals(theirs, Cli.ok("info", "--output=json", img.toString()).json());
  }

  @Test
  void convertReadsASnapshotByNameOrIdLikeQemu() throws Exception {
    for (String[] sel : new String[][] {{"-l", "first"}, {"-l", "snapshot.name=second snap"},
        {"-l", "snapshot.id=1"}, {"-l", "2"}}) {
      String tag = sel[0] + sel[1].replaceAll("[^a-z0-9]", "");
      Path theirs = dir.resolve("q" + tag + ".raw");
      Path mine = dir.resolve("b" + tag + ".raw");
      assertEquals(0, Qemu.run("convert", sel[0], sel[1], "-O", "raw", img.toString(),
          theirs.toString()).code(), tag);
      Cli.ok("convert", sel[0], sel[1], "-O", "raw", img.toString(), mine.toString());
      assertArrayEquals(Files.readAllBytes(theirs), Files.readAllBytes(mine), tag);
    }
    Path active = dir.resolve("active.raw");
    Cli.ok("convert", "-O", "raw", img.toString(), active.toString());
    assertTrue(Files.readAllBytes(active)[1 << 20] == 3, "the active layer by default");
  }

  @Test
  void missingSnapshotAndWritingActionsAreClearErrors() {
    String f = img.toString();
    assertTrue(Cli.run("convert", "-l", "nope", f, dir.resolve("x.raw").toString())
        .assertOneLineError(1).contains("no internal snapshot 'nope'"));
    for (String action : new String[] {"-c", "-a", "-d"}) {
      String line = Cli.run("snapshot", action, "first", f).assertOneLineError(1);
      assertTrue(line.contains("not supported"), line);
    }
  }

  @Test
  void formatsWithoutSnapshotsListNothingLikeQemu() throws Exception {
    Path raw = dir.resolve("plain.raw");
    Qemu.run("create", "-q", "-f", "raw", raw.toString(), "1M");
    Cli.Result theirs = Qemu.run("snapshot", "-l", raw.toString());
    Cli.Result mine = Cli.run("snapshot", "-l", "-f", "raw", raw.toString());
    assertEquals(theirs.code(), mine.code());
    assertEquals(theirs.out(), mine.out());
    assertEquals("[]", Cli.ok("snapshot", "-l", "-f", "raw", "--output=json", raw.toString())
        .out().strip());
  }
}
