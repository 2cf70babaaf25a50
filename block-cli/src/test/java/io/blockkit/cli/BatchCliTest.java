package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * info, check and map over many images in one call, and compare over many pairs: each item's
 * output as it is alone (alone it is qemu-img's, QemuParityTest), human blocks one after another,
 * JSON an array, a failing item reported and skipped, and the worst exit code.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchCliTest {
  private String a;
  private String b;
  private String missing;
  private String raw;

  @BeforeAll
  void images(@TempDir Path dir) throws Exception {
    a = dir.resolve("a.qcow2").toString();
    b = dir.resolve("b.vdi").toString();
    raw = dir.resolve("data.raw").toString();
    missing = dir.resolve("missing.img").toString();
    byte[] data = new byte[3 << 20];
    java.util.Arrays.fill(data, 1 << 20, 2 << 20, (byte) 7);
    java.nio.file.Files.write(Path.of(raw), data);
    Cli.ok("convert", "-f", "raw", "-O", "qcow2", raw, a);
    Cli.ok("create", "-q", "-f", "vdi", b, "2M");
  }

  @Test
  void humanBlocksAreEachImageAloneInOrder() {
    for (String cmd : List.of("info", "check", "map")) {
      Cli.Result both = Cli.ok(cmd, a, b);
      String one = Cli.ok(cmd, a).out();
      String two = Cli.ok(cmd, b).out();
      String header = cmd.equals("info") ? "" : "image: ";
      String expected = (header.isEmpty() ? "" : header + a + "\n") + one + "\n"
          + (header.isEmpty() ? "" : header + b + "\n") + two;
      assertEquals(expected, both.out(), cmd);
    }
  }

  @Test
  void jsonIsAnArrayOfWhatEachImagePrintsAlone() throws Exception {
    for (String cmd : List.of("info", "check", "map")) {
      JsonNode both = Cli.ok(cmd, "--output=json", a, b).json();
      assertEquals(2, both.size(), cmd);
      assertEquals(Cli.ok(cmd, "--output=json", a).json(), both.get(0), cmd);
      assertEquals(Cli.ok(cmd, "--output=json", b).json(), both.get(1), cmd);
    }
    JsonNode chains = Cli.ok("info", "--backing-chain", "--output=json", a, b).json();
    assertTrue(chains.get(0).isArray() && chains.get(1).isArray(), chains::toString);
  }

  @Test
  void aMissingImageIsReportedAndTheOthersStillProcessed() {
    for (String cmd : List.of("info", "check", "map")) {
      Cli.Result r = Cli.run(cmd, a, missing, b);
      assertEquals(1, r.code(), cmd);
      assertEquals(1, r.errLines().size(), r.err());
      assertTrue(r.err().startsWith("blockkit: ") && r.err().contains("missing.img"), r.err());
      assertTrue(r.out().contains(a) && r.out().contains(b), r.out());

      JsonNode json = Cli.run(cmd, "--output=json", a, missing, b).json();
      assertEquals(3, json.size());
      assertTrue(json.get(1).isNull(), json::toString);
      assertEquals(Cli.ok(cmd, "--output=json", b).json(), json.get(2));
    }
  }

  @Test
  void checkExitCodeIsTheWorstImage() {
    String clean = checkable(0, 0);
    String leaks = checkable(0, 4);
    String corrupt = checkable(3, 0);
    assertEquals(3, Cli.run("check", clean, leaks, clean).code());
    assertEquals(2, Cli.run("check", leaks, corrupt, clean).code());
    assertEquals(2, Cli.run("check", corrupt, leaks).code());
    assertEquals(1, Cli.run("check", corrupt, missing).code());
    assertEquals(63, Cli.run("check", "-f", "raw", clean, clean).code());
    Cli.Result quiet = Cli.run("check", "-q", clean, leaks);
    assertEquals("", quiet.out(), "-q: no blocks, not even their names");
    assertEquals(3, quiet.code());
    // a format without checks (a probed raw file) ranks below any finding
    assertEquals(63, Cli.run("check", clean, raw).code());
    assertEquals(3, Cli.run("check", raw, leaks).code());
  }

  @Test
  void compareTakesPairsAndExitsWithTheHighestCode() {
    // the qcow2 holds raw's bytes; the empty vdi differs from both
    Cli.Result same = Cli.run("compare", raw, a);
    Cli.Result differ = Cli.run("compare", a, b);
    assertEquals(0, same.code());
    assertEquals(1, differ.code());
    Cli.Result both = Cli.run("compare", raw, a, a, b);
    assertEquals("image: " + raw + "\nimage: " + a + "\n" + same.out() + "\n"
        + "image: " + a + "\nimage: " + b + "\n" + differ.out(), both.out());
    assertEquals(1, both.code());
    assertEquals(0, Cli.run("compare", raw, a, a, raw).code());

    // an image that cannot be opened (2) outranks a difference (1); the pairs after it still run
    Cli.Result missingPair = Cli.run("compare", a, b, missing, a, raw, a);
    assertEquals(2, missingPair.code());
    assertTrue(missingPair.err().contains("missing.img"), missingPair.err());
    assertTrue(missingPair.out().endsWith("image: " + raw + "\nimage: " + a + "\n"
        + same.out()), missingPair.out());

    Cli.Result odd = Cli.run("compare", raw, a, b);
    assertEquals(1, odd.code());
    assertEquals("blockkit: compare takes images in pairs (FILE1 FILE2 [FILE1 FILE2 ...]), but "
        + "was given 3 images\n", odd.err());
    assertEquals("", odd.out());
  }

  @Test
  void oneImageIsExactlyTheSingleImageOutput() {
    // the single-image path is unchanged: no "image:" line, no array, the same errors
    assertTrue(Cli.ok("check", a).out().startsWith("No errors were found"));
    assertTrue(Cli.ok("check", "--output=json", a).json().isObject());
    assertTrue(Cli.ok("map", "--output=json", a).json().get(0).isObject());
    assertEquals("blockkit: Could not access '" + missing + "': No such file or directory\n",
        Cli.run("info", missing).err());
  }

  private static String checkable(long corruptions, long leaks) {
    String img = "memory:batch-" + UUID.randomUUID();
    Cli.ok("create", "-f", "clitest", "-o", "corruptions=" + corruptions + ",leaks=" + leaks,
        img, "1M");
    return img;
  }
}
