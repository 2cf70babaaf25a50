package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * resize, measure, amend and compact against qemu-img on raw and VDI images: the same command
 * on twin images, the same output, exit code and resulting file. Where blockkit differs on
 * purpose (a shrink over data is refused), the test pins the difference down.
 */
class SizeCommandsParityTest {
  @TempDir
  Path dir;

  @BeforeEach
  void qemu() {
    Qemu.require();
  }

  /** Twin raw images made by qemu: data at the start and at 3 MiB, a hole between. */
  private Path[] twins(String name) throws Exception {
    Path[] p = {dir.resolve("q-" + name), dir.resolve("b-" + name)};
    for (Path x : p) {
      Qemu.run("create", "-q", "-f", "raw", x.toString(), "4M");
      Qemu.io("-f", "raw", "-c", "write -P 1 0 64k", "-c", "write -P 2 3M 4k", x.toString());
    }
    return p;
  }

  private static String message(Cli.Result r) {
    String line = r.err().lines().filter(l -> !l.startsWith("WARNING") && !l.startsWith(" "))
        .findFirst().orElse("");
    return line.substring(line.indexOf(": ") + 2);
  }

  private static String[] with(String[] args, String file) {
    List<String> a = new ArrayList<>();
    for (String s : args) {
      a.add(s.equals("FILE") ? file : s);
    }
    return a.toArray(String[]::new);
  }

  @Test
  void resizeGrowsAndShrinksAsQemuDoes() throws Exception {
    Path[] img = twins("r.raw");
    String[][] steps = {{"resize", "-f", "raw", "FILE", "8M"}, {"resize", "-f", "raw", "FILE", "+1M"},
        {"resize", "-q", "-f", "raw", "FILE", "+512k"}, {"resize", "FILE", "10M"},
        {"resize", "-f", "raw", "--shrink", "FILE", "-2M"},
        {"resize", "-f", "raw", "--shrink", "FILE", "--", "-1M"},
        {"resize", "-f", "raw", "--shrink", "FILE", "3276800"},
        {"resize", "-f", "raw", "FILE", "3276800"}, {"resize", "-f", "raw", "FILE", "+0"},
        {"resize", "-f", "raw", "--preallocation=off", "FILE", "4M"}};
    for (String[] s : steps) {
      Cli.Result theirs = Qemu.run(with(s, img[0].toString()));
      Cli.Result mine = Cli.run(with(s, img[1].toString()));
      String what = Arrays.toString(s);
      assertEquals(0, theirs.code(), what + theirs.err());
      assertEquals(theirs.code(), mine.code(), what + ": " + mine.err());
      assertEquals(theirs.out(), mine.out(), what);
      assertEquals(Files.size(img[0]), Files.size(img[1]), what);
      assertArrayEquals(Files.readAllBytes(img[0]), Files.readAllBytes(img[1]), what);
    }
  }

  @Test
  void resizeErrorsExitLikeQemu() throws Exception {
    Path[] img = twins("e.raw");
    String[][] sameMessage = {{"resize", "-f", "raw", "FILE", "1M"},
        {"resize", "-f", "raw", "FILE", "--", "-1M"}, {"resize", "-f", "raw", "FILE", "0"},
        {"resize", "-f", "raw", "--shrink", "FILE", "--", "-5G"},
        {"resize", "-f", "raw", "--shrink", "FILE", "--", "-4M"}};
    for (String[] s : sameMessage) {
      Cli.Result theirs = Qemu.run(with(s, img[0].toString()));
      String mine = Cli.run(with(s, img[1].toString())).assertOneLineError(1);
      assertEquals(1, theirs.code(), Arrays.toString(s));
      assertEquals(message(theirs), mine.substring("blockkit: ".length()), Arrays.toString(s));
    }
    String[][] failing = {{"resize", "-f", "raw", "FILE", "lots"},
        {"resize", "-f", "raw", "FILE", "--", "-0x"}, {"resize", "FILE"}};
    for (String[] s : failing) {
      assertEquals(1, Qemu.run(with(s, img[0].toString())).code(), Arrays.toString(s));
      Cli.run(with(s, img[1].toString())).assertOneLineError(1);
    }
    // not in blockkit: preallocating the new range (blockkit grows sparse)
    assertEquals(0, Qemu.run("resize", "-f", "raw", "--preallocation=full",
        twins("p.raw")[0].toString(), "8M").code());
    Cli.run("resize", "-f", "raw", "--preallocation=full", img[1].toString(), "8M")
        .assertOneLineError(1);
    // a format that cannot resize fails in both (qemu-img 7.2 cannot resize VDI: see below)
    Path vpc = dir.resolve("v.vhd");
    Qemu.run("create", "-q", "-f", "vpc", vpc.toString(), "1M");
    Cli.Result theirs = Qemu.run("resize", "-f", "vpc", vpc.toString(), "20M");
    Cli.Result mine = Cli.run("resize", "-f", "vpc", vpc.toString(), "20M");
    assertEquals(theirs.code(), mine.code(), mine.err());
    assertArrayEquals(Files.readAllBytes(img[0]), Files.readAllBytes(img[1]));
  }

  /**
   * Documented difference: qemu-img shrinks over data with a warning; blockkit refuses when the
   * range cut off reads as anything but zeros, and names the first such byte.
   */
  @Test
  void shrinkingOverDataIsRefusedWhereQemuCutsItOff() throws Exception {
    Path[] img = twins("d.raw");
    Cli.Result theirs = Qemu.run("resize", "-f", "raw", "--shrink", img[0].toString(), "2M");
    assertEquals(0, theirs.code());
    assertEquals(2 << 20, Files.size(img[0]), "qemu-img cut the data off");
    String mine = Cli.run("resize", "-f", "raw", "--shrink", img[1].toString(), "2M")
        .assertOneLineError(1);
    assertTrue(mine.contains("offset " + (3 << 20)) && mine.contains("non-zero"), mine);
    assertEquals(4 << 20, Files.size(img[1]));
    // up to the end of the data, both tools shrink alike
    Path[] again = twins("e.raw");
    String end = Long.toString((3 << 20) + 4096);
    assertEquals(0, Qemu.run("resize", "-f", "raw", "--shrink", again[0].toString(), end).code());
    Cli.ok("resize", "-f", "raw", "--shrink", again[1].toString(), end);
    assertArrayEquals(Files.readAllBytes(again[0]), Files.readAllBytes(again[1]));
  }

  @Test
  void measureMatchesQemu() throws Exception {
    Path[] img = twins("m.raw");
    String[][] cases = {{"measure", "-O", "raw", "--size", "1G"},
        {"measure", "--output=json", "-O", "raw", "--size", "3M"},
        {"measure", "-O", "raw", "-f", "raw", "FILE"}, {"measure", "--output=json", "-f", "raw", "FILE"},
        {"measure", "-O", "raw", "-o", "preallocation=full", "--size", "1M"}};
    for (String[] c : cases) {
      Cli.Result theirs = Qemu.run(with(c, img[0].toString()));
      assertEquals(0, theirs.code(), Arrays.toString(c) + theirs.err());
      assertEquals(theirs.out(), Cli.ok(with(c, img[1].toString())).out(), Arrays.toString(c));
    }
    String[][] errors = {{"measure", "-O", "raw", "--size", "1G", "FILE"},
        {"measure", "-O", "raw"}};
    for (String[] c : errors) {
      Cli.Result theirs = Qemu.run(with(c, img[0].toString()));
      String mine = Cli.run(with(c, img[1].toString())).assertOneLineError(1);
      assertEquals(1, theirs.code(), Arrays.toString(c));
      assertEquals(message(theirs), mine.substring("blockkit: ".length()), Arrays.toString(c));
    }
  }

  /** VDI is where blockkit does more than qemu-img 7.2: it measures, resizes and amends VDI. */
  @Test
  void vdiMeasureResizeAndAmendWhereQemuRefuses() throws Exception {
    assertEquals(1, Qemu.run("measure", "-O", "vdi", "--size", "1G").code());
    assertTrue(Cli.ok("measure", "-O", "vdi", "--size", "1G").out().startsWith("required size: "));
    Path vdi = dir.resolve("grow.vdi");
    Qemu.run("create", "-q", "-f", "vdi", vdi.toString(), "1M");
    assertEquals(1, Qemu.run("amend", "-o", "comment=x", vdi.toString()).code());
    String line = Cli.run("amend", "-o", "static=on", vdi.toString()).assertOneLineError(1);
    assertTrue(line.contains("Invalid option 'static'"), line);
    Cli.ok("resize", vdi.toString(), "2M");
    assertEquals(0, Qemu.run("check", vdi.toString()).code());
    assertTrue(Qemu.run("info", vdi.toString()).out().contains("(2097152 bytes)"));
  }

  @Test
  void amendIsRefusedAsQemuRefusesItForRawAndVmdk() throws Exception {
    Path[] img = twins("a.raw");
    Path vdi = dir.resolve("a.vmdk");
    Qemu.run("create", "-q", "-f", "vmdk", vdi.toString(), "1M");
    byte[] vdiBytes = Files.readAllBytes(vdi);
    String[][] cases = {{"amend", "-f", "raw", "-o", "size=8M", "FILE"},
        {"amend", "-f", "raw", "FILE"}, {"amend", "-o", "zeroed_grain=on", vdi.toString()}};
    for (String[] c : cases) {
      Cli.Result theirs = Qemu.run(with(c, img[0].toString()));
      String mine = Cli.run(with(c, img[1].toString())).assertOneLineError(1);
      assertEquals(1, theirs.code(), Arrays.toString(c));
      assertEquals(message(theirs), mine.substring("blockkit: ".length()), Arrays.toString(c));
    }
    assertArrayEquals(Files.readAllBytes(img[0]), Files.readAllBytes(img[1]));
    assertArrayEquals(vdiBytes, Files.readAllBytes(vdi));
  }

  /** compact is blockkit's own: a format that cannot compact says so, and nothing changes. */
  @Test
  void compactOfAFormatThatCannotIsOneLine() throws Exception {
    Path[] img = twins("c.raw");
    byte[] before = Files.readAllBytes(img[1]);
    String line = Cli.run("compact", "-f", "raw", img[1].toString()).assertOneLineError(1);
    assertTrue(line.contains("raw") && line.contains("compaction"), line);
    assertArrayEquals(before, Files.readAllBytes(img[1]));
  }
}
