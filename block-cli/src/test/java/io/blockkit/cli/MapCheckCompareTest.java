package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MapCheckCompareTest {
  @TempDir
  Path dir;

  /** qemu 7.2 has no "compressed" key yet; compare the rest. */
  private static List<JsonNode> records(String json) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode n : Cli.JSON.readTree(json)) {
      ObjectNode o = (ObjectNode) n.deepCopy();
      o.remove("compressed");
      out.add(o);
    }
    return out;
  }

  private Path rawWithData() throws Exception {
    Path f = dir.resolve("holes.raw");
    Cli.ok("create", "-f", "raw", f.toString(), "16M");
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.seek(0);
      r.write(new byte[] {1, 2, 3});
      r.seek(5 << 20);
      r.write(new byte[70000]);
      r.seek((5 << 20) + 70000);
      r.write(9);
      r.seek((16 << 20) - 1);
      r.write(4);
    }
    return f;
  }

  @Test
  void mapJsonMatchesQemuOnEveryCorpusImage() throws Exception {
    Qemu.require();
    for (Path img : Corpus.images()) {
      Cli.Result ours = Cli.ok("map", "--output=json", img.toString());
      assertTrue(ours.out().contains("\"compressed\": false"));
      assertEquals(records(Qemu.run("map", "--output=json", img.toString()).out()),
          records(ours.out()), img.toString());
    }
  }

  @Test
  void mapJsonAndHumanMatchQemuOnSparseRawAndStaticVdi() throws Exception {
    Path raw = rawWithData();
    Path fixed = dir.resolve("static.vdi");
    Qemu.run("create", "-f", "vdi", "-o", "static=on", fixed.toString(), "32M");
    for (Path f : List.of(raw, fixed)) {
      assertEquals(records(Qemu.run("map", "--output=json", f.toString()).out()),
          records(Cli.ok("map", "--output=json", f.toString()).out()), f.toString());
      assertEquals(Qemu.run("map", f.toString()).out(), Cli.ok("map", f.toString()).out());
    }
  }

  @Test
  void mapRespectsStartOffsetAndMaxLength() throws Exception {
    Path raw = rawWithData();
    String[] args = {"--start-offset=4M", "--max-length=2M"};
    assertEquals(records(Qemu.run("map", "--output=json", args[0], args[1], raw.toString()).out()),
        records(Cli.ok("map", "--output=json", args[0], args[1], raw.toString()).out()));
  }

  @Test
  void iotest211DynamicVdiMapIsOneZeroRun() throws Exception {
    Path f = dir.resolve("d.vdi");
    Cli.ok("create", "-f", "vdi", f.toString(), "128M");
    JsonNode map = Cli.ok("map", "--output=json", f.toString()).json();
    assertEquals(1, map.size());
    JsonNode r = map.get(0);
    assertEquals(0, r.get("start").asLong());
    assertEquals(134217728L, r.get("length").asLong());
    assertTrue(r.get("zero").asBoolean() && r.get("present").asBoolean());
    assertFalse(r.get("data").asBoolean() || r.get("compressed").asBoolean());
  }

  // ---- check

  private String checkable(long corruptions, long leaks, long errors) {
    String img = "memory:check-" + UUID.randomUUID();
    Cli.ok("create", "-f", "clitest", "-o", "corruptions=" + corruptions + ",leaks=" + leaks
        + ",check-errors=" + errors, img, "1M");
    return img;
  }

  @Test
  void checkExitCodesFollowQemu() {
    assertEquals(0, Cli.run("check", checkable(0, 0, 0)).code());
    assertEquals(2, Cli.run("check", checkable(2, 5, 0)).code());
    assertEquals(3, Cli.run("check", checkable(0, 5, 0)).code());
    assertEquals(1, Cli.run("check", checkable(0, 0, 1)).code());
    assertEquals(63, Cli.run("check", "-f", "raw", checkable(0, 0, 0)).code());
  }

  @Test
  void checkHumanMessages() {
    Cli.Result clean = Cli.run("check", checkable(0, 0, 0));
    assertTrue(clean.out().startsWith("No errors were found on the image.\n"), clean.out());
    Cli.Result bad = Cli.run("check", checkable(2, 5, 0));
    assertTrue(bad.out().contains("\n2 errors were found on the image.\nData may be corrupted, "
        + "or further writes to the image may corrupt it.\n"), bad.out());
    assertTrue(bad.out().contains("\n5 leaked clusters were found on the image.\nThis means "
        + "waste of disk space, but no harm to data.\n"), bad.out());
    assertTrue(bad.out().contains("Image end offset: " + (512 + (1 << 20))), bad.out());
    assertTrue(bad.err().contains("ERROR: block 0 is used twice"), bad.err());
    assertTrue(Cli.run("check", "-q", checkable(2, 0, 0)).out().isEmpty());
  }

  @Test
  void checkJsonHasOnlyTheFieldsQemuPrints() {
    String img = checkable(0, 0, 0);
    JsonNode clean = Cli.run("check", "--output=json", "-f", "clitest", img).json();
    List<String> keys = new ArrayList<>();
    clean.fieldNames().forEachRemaining(keys::add);
    assertEquals(List.of("filename", "format", "check-errors", "image-end-offset"), keys);
    JsonNode bad = Cli.run("check", "--output=json", checkable(3, 4, 0)).json();
    assertEquals(3, bad.get("corruptions").asLong());
    assertEquals(4, bad.get("leaks").asLong());
    assertFalse(bad.has("leaks-fixed"));
  }

  @Test
  void repairLeaksThenAll() {
    String img = checkable(2, 5, 0);
    Cli.Result leaks = Cli.run("check", "-r", "leaks", img);
    assertTrue(leaks.out().startsWith("The following inconsistencies were found and repaired:\n\n"
        + "    5 leaked clusters\n    0 corruptions\n\nDouble checking the fixed image now...\n"),
        leaks.out());
    assertEquals(2, leaks.code(), "corruptions remain after -r leaks");
    JsonNode all = Cli.run("check", "-r", "all", "--output=json", img).json();
    assertEquals(2, all.get("corruptions-fixed").asLong());
    assertFalse(all.has("corruptions"));
    assertEquals(0, Cli.run("check", img).code());
  }

  @Test
  void checkExitCodesMatchQemuOnCorpusImagesBothCallClean() throws Exception {
    Qemu.require();
    for (Path img : Corpus.images()) {
      if (img.getFileName().toString().startsWith("justinloveless")) {
        continue; // qemu wrongly calls the truncated image clean (see MANIFEST.tsv)
      }
      assertEquals(Qemu.run("check", img.toString()).code(), Cli.run("check", img.toString())
          .code(), img.toString());
    }
  }

  @Test
  void truncatedCorpusImageIsCorrupt() throws Exception {
    Path img = Corpus.image("justinloveless_OSDev__05a5472");
    Cli.Result r = Cli.run("check", img.toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.out().contains("errors were found on the image."), r.out());
  }

  /** The whole of {@code text} is one JSON document: nothing before or after it. */
  private static JsonNode strictJson(String text) throws Exception {
    return Cli.JSON.readerFor(JsonNode.class)
        .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readValue(text);
  }

  /**
   * Thousands of findings: standard output is exactly the JSON document (or the human summary),
   * the findings on standard error stop after a screenful per kind with a count of the rest, and
   * the totals stay exact.
   */
  @Test
  void thousandsOfFindingsArePrintedCappedWithExactCounts() throws Exception {
    String img = checkable(5000, 7, 3000);
    int cap = CheckCommand.MESSAGES_PER_KIND;
    Cli.Result json = Cli.run("check", "--output=json", img);
    assertEquals(1, json.code(), json.err());
    JsonNode doc = strictJson(json.out());
    assertEquals(5000, doc.get("corruptions").asLong());
    assertEquals(7, doc.get("leaks").asLong());
    assertEquals(3000, doc.get("check-errors").asLong());
    assertEquals(List.of("blockkit: Check failed"), json.errLines(),
        "JSON output comes with no finding lines, only qemu-img's exit message");
    Cli.Result human = Cli.run("check", img);
    assertTrue(human.out().contains("\n5000 errors were found on the image.\n"), human.out());
    for (Cli.Result r : List.of(human)) {
      List<String> lines = r.errLines();
      assertEquals(cap, lines.stream().filter(l -> l.startsWith("ERROR: ")).count(), r.err());
      assertEquals(cap, lines.stream().filter(l -> l.startsWith("Check error: ")).count());
      assertTrue(lines.contains("... and " + (5000 - cap) + " more 'ERROR:' lines not shown"),
          r.err());
      assertTrue(lines.contains("... and " + (3000 - cap) + " more 'Check error:' lines not "
          + "shown"), r.err());
      assertTrue(lines.contains("Leaked: 7 clusters are allocated but unused"), r.err());
      assertTrue(lines.size() < 2 * cap + 10, r.err());
    }
  }

  @Test
  void truncatedCorpusImageGivesJsonAndAScreenfulOfFindings() throws Exception {
    Path img = Corpus.image("justinloveless_OSDev__05a5472");
    Cli.Result r = Cli.run("check", "--output=json", img.toString());
    assertEquals(2, r.code(), r.err());
    JsonNode doc = strictJson(r.out());
    assertEquals(2048, doc.get("corruptions").asLong());
    assertEquals("", r.err(), "JSON output comes with no human lines");
    Cli.Result human = Cli.run("check", img.toString());
    assertTrue(human.errLines().size() <= CheckCommand.MESSAGES_PER_KIND + 1, human.err());
  }

  @Test
  void formatWithoutChecksExits63LikeQemu() throws Exception {
    Path f = dir.resolve("r.raw");
    Cli.ok("create", "-f", "raw", f.toString(), "4M");
    for (String[] args : List.of(new String[] {"check", f.toString()},
        new String[] {"check", "-r", "all", f.toString()})) {
      assertEquals(Qemu.run(args).code(), Cli.run(args).code());
      assertEquals(63, Cli.run(args).code());
    }
  }

  // ---- compare

  @Test
  void compareExitCodesAndMessagesMatchQemu() throws Exception {
    Path a = rawWithData();
    Path b = dir.resolve("b.raw");
    Files.copy(a, b);
    Path c = dir.resolve("c.raw");
    Files.copy(a, c);
    try (RandomAccessFile r = new RandomAccessFile(c.toFile(), "rw")) {
      r.seek((5 << 20) + 1000);
      r.write(1);
    }
    Path bigger = dir.resolve("big.raw");
    Files.copy(a, bigger);
    try (RandomAccessFile r = new RandomAccessFile(bigger.toFile(), "rw")) {
      r.setLength(20 << 20);
    }
    Path biggerDirty = dir.resolve("bigdirty.raw");
    Files.copy(bigger, biggerDirty);
    try (RandomAccessFile r = new RandomAccessFile(biggerDirty.toFile(), "rw")) {
      r.seek(18 << 20);
      r.write(5);
    }
    String missing = dir.resolve("missing.raw").toString();
    List<String[]> cases = List.of(new String[] {a.toString(), b.toString()},
        new String[] {a.toString(), c.toString()},
        new String[] {a.toString(), bigger.toString()},
        new String[] {a.toString(), biggerDirty.toString()},
        new String[] {"-s", a.toString(), bigger.toString()},
        new String[] {a.toString(), missing});
    for (String[] args : cases) {
      String[] full = new String[args.length + 1];
      full[0] = "compare";
      System.arraycopy(args, 0, full, 1, args.length);
      Cli.Result theirs = Qemu.run(full);
      Cli.Result ours = Cli.run(full);
      assertEquals(theirs.code(), ours.code(), String.join(" ", args) + ": " + ours.err());
      if (theirs.code() != 2) {
        assertEquals(theirs.out(), ours.out(), String.join(" ", args));
      } else {
        ours.assertOneLineError(2);
      }
    }
  }

  @Test
  void compareAcrossFormatsUsesBlockStatus() throws Exception {
    Path raw = rawWithData();
    Path vdi = dir.resolve("x.vdi");
    Cli.ok("convert", "-O", "vdi", raw.toString(), vdi.toString());
    Cli.Result r = Cli.run("compare", "-f", "raw", "-F", "vdi", raw.toString(), vdi.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertEquals("Images are identical.\n", r.out());
    assertEquals("", Cli.run("compare", "-q", raw.toString(), vdi.toString()).out());
  }
}
