package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.options.Sizes;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backing-chain commands against qemu-img. No format qemu-img reads has a blockkit driver with
 * backing files yet, so each test builds the same chain twice from the same raw base: with qemu
 * (qcow2 overlays, 64 KiB clusters, written by qemu-io) in {@code q/}, and with blockkit (the
 * test-only {@code toyfmt} overlays, also 64 KiB clusters, written through the library) in
 * {@code b/}, under the same names. Each tool then runs the same command on its own chain, and
 * what qemu-img prints (or the raw images it leaves, compared by qemu-img) is the expected value.
 * Only what the formats themselves decide is left out: the format's name, its host offsets, disk
 * sizes and format-specific fields.
 */
class ChainParityTest {
  private static final String BASE = "base.raw";
  private static final OpenParams RW = OpenParams.defaults().withWarnings(w -> { });

  @TempDir
  Path dir;
  private Path q;
  private Path b;

  @BeforeEach
  void folders() throws IOException {
    Qemu.require();
    q = Files.createDirectory(dir.resolve("q"));
    b = Files.createDirectory(dir.resolve("b"));
  }

  // ---- building the twin chains

  /** The same raw base in both folders, made by qemu (holes where nothing was written). */
  private void base(String size, String... writes) throws Exception {
    raw(BASE, size, writes);
  }

  private void raw(String name, String size, String... writes) throws Exception {
    for (Path folder : List.of(q, b)) {
      Path p = folder.resolve(name);
      Qemu.run("create", "-q", "-f", "raw", p.toString(), size);
      if (writes.length > 0) {
        Qemu.io(ioArgs("raw", p, writes));
      }
    }
  }

  /** An overlay {@code name} over {@code backing} in both folders, with the same writes. */
  private void overlay(String name, String backing, String backingFormat, String... writes)
      throws Exception {
    Path qo = q.resolve(name);
    Qemu.run("create", "-q", "-f", "qcow2", "-b", backing, "-F", backingFormat.equals("toyfmt")
        ? "qcow2" : backingFormat, qo.toString());
    if (writes.length > 0) {
      Qemu.io(ioArgs("qcow2", qo, writes));
    }
    Cli.ok("create", "-q", "-f", "toyfmt", "-o", "cluster_size=64K", "-b", backing, "-F",
        backingFormat, b.resolve(name).toString());
    try (BlockDevice d = BlockRegistry.load().open(b.resolve(name).toString(),
        RW.withFormat("toyfmt"))) {
      for (String w : writes) {
        apply(d, w);
      }
    }
  }

  private static String[] ioArgs(String format, Path image, String... writes) {
    List<String> args = new ArrayList<>(List.of("-f", format));
    for (String w : writes) {
      args.add("-c");
      args.add(w);
    }
    args.add(image.toString());
    return args.toArray(String[]::new);
  }

  /** qemu-io's {@code write -P N OFF LEN} and {@code write -z OFF LEN}, through the library. */
  private static void apply(BlockDevice d, String write) throws IOException {
    String[] w = write.split(" ");
    if (w[1].equals("-z")) {
      d.writeZeroes(Sizes.parse(w[2], "offset"), Sizes.parse(w[3], "length"));
    } else {
      byte[] data = new byte[(int) Sizes.parse(w[4], "length")];
      Arrays.fill(data, (byte) Integer.parseInt(w[2]));
      d.write(Sizes.parse(w[3], "offset"), ByteBuffer.wrap(data));
    }
  }

  /** A two-layer chain: a 4 MiB base and an overlay with aligned, unaligned and zero writes. */
  private void twoLayers() throws Exception {
    base("4M", "write -P 1 0 1M", "write -P 2 2M 512k", "write -P 6 4032k 64k");
    overlay("top.img", BASE, "raw", "write -P 3 512k 64k", "write -P 4 100k 10k",
        "write -z 2M 64k", "write -z 3M 128k");
  }

  /** base.raw, mid.img over it, top.img over mid.img. */
  private void threeLayers() throws Exception {
    twoLayers();
    Files.move(q.resolve("top.img"), q.resolve("mid.img"));
    Files.move(b.resolve("top.img"), b.resolve("mid.img"));
    overlay("top.img", "mid.img", "toyfmt", "write -P 5 1M 64k", "write -P 7 512k 4k",
        "write -z 0 64k");
  }

  private String qp(String name) {
    return q.resolve(name).toString();
  }

  private String bp(String name) {
    return b.resolve(name).toString();
  }

  /** What blockkit's image reads as, flattened to raw by blockkit, for qemu-img to compare. */
  private Path flat(String image) throws Exception {
    Path out = dir.resolve("flat-" + image + "-" + System.nanoTime() + ".raw");
    Cli.ok("convert", "-O", "raw", bp(image), out.toString());
    return out;
  }

  /** qemu-img's verdict that blockkit's image reads exactly as qemu's. */
  private void assertSameContent(String image) throws Exception {
    Cli.Result r = Qemu.run("compare", "-F", "raw", qp(image), flat(image).toString());
    assertEquals(0, r.code(), image + ": " + r.out() + r.err());
  }

  // ---- normalising what the formats decide

  /**
   * qemu's map records, with host offsets kept only for the raw base at {@code baseDepth} (-1:
   * none): the overlays place their clusters as their formats like.
   */
  private List<JsonNode> records(String json, int baseDepth) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode n : Cli.JSON.readTree(json)) {
      ObjectNode o = n.deepCopy();
      o.remove("compressed"); // newer than qemu 7.2
      if (o.has("offset") && o.get("depth").asInt() != baseDepth) {
        o.put("offset", "present");
      }
      out.add(o);
    }
    return out;
  }

  /** The human map without the host offsets of the overlays. */
  private List<String> mapLines(String human, String folder) {
    List<String> out = new ArrayList<>();
    for (String line : human.split("\n")) {
      String[] c = line.trim().split("\\s+");
      boolean base = c.length == 4 && c[3].endsWith(BASE);
      out.add(c.length == 4 ? c[0] + " " + c[1] + " " + (base ? c[2] : "-") + " "
          + c[3].replace(folder, "F") : line);
    }
    return out;
  }

  private JsonNode infoJson(String out, String folder) throws IOException {
    JsonNode all = Cli.JSON.readTree(out.replace(folder, "F"));
    for (JsonNode n : all.isArray() ? all : List.of(all)) {
      ObjectNode o = (ObjectNode) n;
      for (String k : List.of("format-specific", "cluster-size", "actual-size")) {
        o.remove(k);
      }
      if (List.of("qcow2", "toyfmt").contains(o.get("format").asText())) {
        o.put("format", "overlay");
      }
      if (o.has("backing-filename-format")
          && List.of("qcow2", "toyfmt").contains(o.get("backing-filename-format").asText())) {
        o.put("backing-filename-format", "overlay");
      }
    }
    return all;
  }

  private List<String> infoHuman(String out, String folder) {
    List<String> lines = new ArrayList<>();
    boolean specific = false;
    for (String line : out.replace(folder, "F").split("\n")) {
      if (line.startsWith("Format specific information:")) {
        specific = true;
      } else if (line.startsWith("image:") || line.isEmpty()) {
        specific = false;
      }
      if (specific || line.startsWith("disk size:") || line.startsWith("cluster_size:")) {
        continue;
      }
      lines.add(line.replace("qcow2", "overlay").replace("toyfmt", "overlay"));
    }
    return lines;
  }

  private static String message(Cli.Result r) {
    String line = r.err().lines().filter(l -> !l.startsWith("WARNING") && !l.startsWith(" "))
        .findFirst().orElse("");
    return line.substring(line.indexOf(": ") + 2);
  }

  // ---- info, map, compare, convert

  @Test
  void infoShowsTheBackingFileAndTheChainAsQemuDoes() throws Exception {
    threeLayers();
    for (String[] opts : new String[][] {{}, {"--backing-chain"}}) {
      List<String> args = new ArrayList<>(List.of("info"));
      args.addAll(List.of(opts));
      args.add("TOP");
      String[] qa = args.stream().map(a -> a.equals("TOP") ? qp("top.img") : a)
          .toArray(String[]::new);
      String[] ba = args.stream().map(a -> a.equals("TOP") ? bp("top.img") : a)
          .toArray(String[]::new);
      assertEquals(infoHuman(Qemu.run(qa).out(), q.toString()),
          infoHuman(Cli.ok(ba).out(), b.toString()), Arrays.toString(opts));
      args.add(1, "--output=json");
      qa = args.stream().map(a -> a.equals("TOP") ? qp("top.img") : a).toArray(String[]::new);
      ba = args.stream().map(a -> a.equals("TOP") ? bp("top.img") : a).toArray(String[]::new);
      assertEquals(infoJson(Qemu.run(qa).out(), q.toString()),
          infoJson(Cli.ok(ba).out(), b.toString()), Arrays.toString(opts));
    }
  }

  @Test
  void mapGivesEachRunTheDepthOfItsLayerAsQemuDoes() throws Exception {
    threeLayers();
    String[][] ranges = {{}, {"--start-offset=100k", "--max-length=3M"}, {"-s", "2M"},
        {"--max-length=1"}, {"--start-offset=100G"}};
    for (String top : List.of("mid.img", "top.img")) {
      int baseDepth = top.equals("mid.img") ? 1 : 2;
      for (String[] r : ranges) {
        List<String> args = new ArrayList<>(List.of("map"));
        args.addAll(List.of(r));
        String what = top + " " + Arrays.toString(r);
        List<String> qa = new ArrayList<>(args);
        qa.add(qp(top));
        List<String> ba = new ArrayList<>(args);
        ba.add(bp(top));
        assertEquals(mapLines(Qemu.run(qa.toArray(String[]::new)).out(), q.toString()),
            mapLines(Cli.ok(ba.toArray(String[]::new)).out(), b.toString()), what);
        qa.add(1, "--output=json");
        ba.add(1, "--output=json");
        assertEquals(records(Qemu.run(qa.toArray(String[]::new)).out(), baseDepth),
            records(Cli.ok(ba.toArray(String[]::new)).out(), baseDepth), what);
      }
    }
  }

  @Test
  void compareReadsThroughBothChainsAsQemuDoes() throws Exception {
    threeLayers();
    Path same = dir.resolve("same.raw");
    Qemu.run("convert", "-O", "raw", qp("top.img"), same.toString());
    String[][] cases = {{"TOP", same.toString()}, {same.toString(), "TOP"},
        {"TOP", "BASE"}, {"MID", "TOP"}, {"-s", "TOP", "TOP"}, {"-s", "MID", same.toString()},
        {"-q", "TOP", "BASE"}};
    for (String[] c : cases) {
      List<String> qa = new ArrayList<>(List.of("compare"));
      List<String> ba = new ArrayList<>(List.of("compare"));
      for (String a : c) {
        qa.add(a.equals("TOP") ? qp("top.img") : a.equals("MID") ? qp("mid.img")
            : a.equals("BASE") ? qp(BASE) : a);
        ba.add(a.equals("TOP") ? bp("top.img") : a.equals("MID") ? bp("mid.img")
            : a.equals("BASE") ? bp(BASE) : a);
      }
      Cli.Result theirs = Qemu.run(qa.toArray(String[]::new));
      Cli.Result mine = Cli.run(ba.toArray(String[]::new));
      assertEquals(theirs.code(), mine.code(), Arrays.toString(c) + ": " + mine.err());
      assertEquals(theirs.out(), mine.out(), Arrays.toString(c));
    }
  }

  @Test
  void convertFlattensTheChainOrKeepsABackingAsQemuDoes() throws Exception {
    threeLayers();
    assertSameContent("top.img"); // blockkit's flattening against qemu's chain
    Qemu.run("convert", "-O", "qcow2", "-B", "mid.img", "-F", "qcow2", qp("top.img"),
        qp("copy.img"));
    Cli.ok("convert", "-O", "toyfmt", "-o", "cluster_size=64K", "-B", "mid.img", "-F", "toyfmt",
        bp("top.img"), bp("copy.img"));
    assertEquals(records(Qemu.run("map", "--output=json", qp("copy.img")).out(), 2),
        records(Cli.ok("map", "--output=json", bp("copy.img")).out(), 2),
        "only the top layer's runs are copied, the rest is left to the backing");
    assertSameContent("copy.img");
    String[][] refused = {{"-O", "raw", "-B", BASE, "-F", "raw"}, {"-O", "toyfmt", "-B", BASE}};
    for (String[] r : refused) {
      List<String> args = new ArrayList<>(List.of("convert"));
      args.addAll(List.of(r));
      List<String> qa = new ArrayList<>(args);
      qa.addAll(List.of(qp("top.img"), qp("no.img")));
      List<String> ba = new ArrayList<>(args);
      ba.addAll(List.of(bp("top.img"), bp("no.img")));
      if (r[1].equals("toyfmt")) {
        qa.set(2, "qcow2");
      }
      assertEquals(1, Qemu.run(qa.toArray(String[]::new)).code(), Arrays.toString(r));
      Cli.run(ba.toArray(String[]::new)).assertOneLineError(1);
      assertFalse(Files.exists(b.resolve("no.img")), Arrays.toString(r));
    }
  }

  // ---- commit

  /** After the same commit on both chains: the raw bases are identical, the overlays map alike. */
  private void assertCommittedAlike(String... overlays) throws Exception {
    Cli.Result r = Qemu.run("compare", "-f", "raw", "-F", "raw", qp(BASE), bp(BASE));
    assertEquals(0, r.code(), "the bases after commit: " + r.out());
    for (String o : overlays) {
      int depth = o.equals("top.img") && Files.exists(q.resolve("mid.img")) ? 2 : 1;
      assertEquals(records(Qemu.run("map", "--output=json", qp(o)).out(), depth),
          records(Cli.ok("map", "--output=json", bp(o)).out(), depth), o);
      assertSameContent(o);
    }
  }

  @Test
  void commitWritesTheTopIntoItsBackingAndEmptiesItAsQemuDoes() throws Exception {
    twoLayers();
    Cli.Result theirs = Qemu.run("commit", qp("top.img"));
    assertEquals(theirs.out(), Cli.ok("commit", bp("top.img")).out());
    assertCommittedAlike("top.img");
  }

  @Test
  void commitKeepsTheTopWithMinusD() throws Exception {
    twoLayers();
    Cli.Result theirs = Qemu.run("commit", "-q", "-d", qp("top.img"));
    assertEquals(0, theirs.code());
    assertEquals("", Cli.ok("commit", "-q", "-d", bp("top.img")).out());
    assertCommittedAlike("top.img");
  }

  @Test
  void commitIntoADeeperBaseKeepsEveryOverlayAsQemuDoes() throws Exception {
    threeLayers();
    Cli.Result theirs = Qemu.run("commit", "-b", BASE, qp("top.img"));
    assertEquals(theirs.out(), Cli.ok("commit", "-b", BASE, bp("top.img")).out());
    assertCommittedAlike("top.img", "mid.img");
  }

  @Test
  void commitIntoTheMiddleLayer() throws Exception {
    threeLayers();
    Qemu.run("commit", "-q", "-b", qp("mid.img"), qp("top.img"));
    Cli.ok("commit", "-q", "-b", bp("mid.img"), bp("top.img"));
    assertCommittedAlike("top.img", "mid.img");
  }

  @Test
  void commitErrorsExitLikeQemu() throws Exception {
    threeLayers();
    String[][] cases = {{"BASE"}, {"-b", "nowhere.raw", "TOP"}, {"-b", "top.img", "TOP"},
        {"MISSING"}, {"-f", "raw", "-b", BASE, "BASE"}};
    for (String[] c : cases) {
      List<String> qa = new ArrayList<>(List.of("commit"));
      List<String> ba = new ArrayList<>(List.of("commit"));
      for (String a : c) {
        qa.add(a.equals("TOP") ? qp("top.img") : a.equals("BASE") ? qp(BASE)
            : a.equals("MISSING") ? qp("missing.img") : a);
        ba.add(a.equals("TOP") ? bp("top.img") : a.equals("BASE") ? bp(BASE)
            : a.equals("MISSING") ? bp("missing.img") : a);
      }
      Cli.Result theirs = Qemu.run(qa.toArray(String[]::new));
      Cli.Result mine = Cli.run(ba.toArray(String[]::new));
      assertEquals(1, theirs.code(), Arrays.toString(c));
      assertEquals(1, mine.code(), Arrays.toString(c) + ": " + mine.err());
      if (!c[0].equals("MISSING")) {
        assertEquals(message(theirs).replace(q.toString(), "F"),
            message(mine).replace(b.toString(), "F"), Arrays.toString(c));
      }
    }
    assertCommittedAlike("top.img", "mid.img"); // nothing was changed
  }

  // ---- rebase

  /** A different raw image to rebase onto: some of the old base's data, some new. */
  private void newBase() throws Exception {
    raw("new.raw", "3M", "write -P 1 0 512k", "write -P 9 1M 100k", "write -P 2 2M 512k");
  }

  @Test
  void rebaseKeepsWhatTheImageReadsAsQemuDoes() throws Exception {
    twoLayers();
    newBase();
    Path before = dir.resolve("before.raw");
    Qemu.run("convert", "-O", "raw", qp("top.img"), before.toString());
    Cli.Result theirs = Qemu.run("rebase", "-b", "new.raw", "-F", "raw", qp("top.img"));
    assertEquals(0, theirs.code(), theirs.err());
    assertEquals(theirs.out(), Cli.ok("rebase", "-b", "new.raw", "-F", "raw", bp("top.img")).out());
    assertEquals(records(Qemu.run("map", "--output=json", qp("top.img")).out(), 1),
        records(Cli.ok("map", "--output=json", bp("top.img")).out(), 1));
    assertEquals(0, Qemu.run("compare", "-F", "raw", qp("top.img"), before.toString()).code());
    assertSameContent("top.img");
    assertEquals(infoHuman(Qemu.run("info", qp("top.img")).out(), q.toString()),
        infoHuman(Cli.ok("info", bp("top.img")).out(), b.toString()));
  }

  @Test
  void rebaseOntoNothingCopiesTheBackingInAsQemuDoes() throws Exception {
    twoLayers();
    Qemu.run("rebase", "-b", "", qp("top.img"));
    Cli.ok("rebase", "-b", "", bp("top.img"));
    assertEquals(records(Qemu.run("map", "--output=json", qp("top.img")).out(), -1),
        records(Cli.ok("map", "--output=json", bp("top.img")).out(), -1));
    assertSameContent("top.img");
    assertFalse(Cli.ok("info", bp("top.img")).out().contains("backing file"));
  }

  @Test
  void unsafeRebaseOnlyChangesTheNameAsQemuDoes() throws Exception {
    twoLayers();
    newBase();
    Files.delete(q.resolve(BASE)); // -u needs no old backing (e.g. it was moved)
    Files.delete(b.resolve(BASE));
    assertEquals(0, Qemu.run("rebase", "-u", "-b", "new.raw", "-F", "raw", qp("top.img")).code());
    Cli.ok("rebase", "-u", "-b", "new.raw", "-F", "raw", bp("top.img"));
    assertEquals(records(Qemu.run("map", "--output=json", qp("top.img")).out(), 1),
        records(Cli.ok("map", "--output=json", bp("top.img")).out(), 1));
    assertSameContent("top.img");
    assertEquals(infoJson(Qemu.run("info", "--output=json", qp("top.img")).out(), q.toString()),
        infoJson(Cli.ok("info", "--output=json", bp("top.img")).out(), b.toString()));
  }

  @Test
  void rebaseErrorsExitLikeQemu() throws Exception {
    twoLayers();
    newBase();
    String qemuBefore = Qemu.run("map", "--output=json", qp("top.img")).out();
    String mineBefore = Cli.ok("map", "--output=json", bp("top.img")).out();
    String[][] sameMessage = {{"TOP"}, {"-b", "new.raw", "TOP"}, {"-u", "-b", "new.raw", "TOP"}};
    for (String[] c : sameMessage) {
      List<String> qa = new ArrayList<>(List.of("rebase"));
      List<String> ba = new ArrayList<>(List.of("rebase"));
      for (String a : c) {
        qa.add(a.equals("TOP") ? qp("top.img") : a);
        ba.add(a.equals("TOP") ? bp("top.img") : a);
      }
      Cli.Result theirs = Qemu.run(qa.toArray(String[]::new));
      String mine = Cli.run(ba.toArray(String[]::new)).assertOneLineError(1);
      assertEquals(1, theirs.code(), Arrays.toString(c));
      assertEquals(message(theirs), mine.substring("blockkit: ".length()), Arrays.toString(c));
    }
    // Documented difference: qemu-img 7.2 copies data into the image before it finds -F
    // missing; blockkit refuses first and leaves the image as it was.
    assertFalse(qemuBefore.equals(Qemu.run("map", "--output=json", qp("top.img")).out()),
        "qemu-img 7.2 no longer copies before failing: update docs/CLI.md");
    assertEquals(mineBefore, Cli.ok("map", "--output=json", bp("top.img")).out());
    String[][] failing = {{"-b", "nowhere.raw", "-F", "raw", "TOP"},
        {"-f", "raw", "-b", "new.raw", "-F", "raw", "BASE"}};
    for (String[] c : failing) {
      List<String> qa = new ArrayList<>(List.of("rebase"));
      List<String> ba = new ArrayList<>(List.of("rebase"));
      for (String a : c) {
        qa.add(a.equals("TOP") ? qp("top.img") : a.equals("BASE") ? qp(BASE) : a);
        ba.add(a.equals("TOP") ? bp("top.img") : a.equals("BASE") ? bp(BASE) : a);
      }
      assertEquals(1, Qemu.run(qa.toArray(String[]::new)).code(), Arrays.toString(c));
      Cli.run(ba.toArray(String[]::new)).assertOneLineError(1);
    }
    assertEquals(mineBefore, Cli.ok("map", "--output=json", bp("top.img")).out());
  }

  // ---- create

  @Test
  void createWithABackingFileAsQemuDoes() throws Exception {
    base("3M", "write -P 1 0 1M");
    String theirs = Qemu.run("create", "-f", "qcow2", "-b", BASE, "-F", "raw", qp("new.img"))
        .out();
    String mine = Cli.ok("create", "-f", "toyfmt", "-b", BASE, "-F", "raw", bp("new.img")).out();
    for (String field : List.of(" size=3145728", " backing_file=base.raw", " backing_fmt=raw")) {
      assertTrue(theirs.contains(field) && mine.contains(field), field + " in " + mine);
    }
    assertTrue(mine.startsWith("Formatting '" + bp("new.img") + "', fmt=toyfmt"), mine);
    assertEquals(infoJson(Qemu.run("info", "--output=json", qp("new.img")).out(), q.toString()),
        infoJson(Cli.ok("info", "--output=json", bp("new.img")).out(), b.toString()));
    String[][] errors = {{"-b", BASE}, {"-b", "missing.raw", "-F", "raw"},
        {"-F", "raw", "SIZE"}};
    for (String[] e : errors) {
      List<String> qa = new ArrayList<>(List.of("create", "-f", "qcow2"));
      List<String> ba = new ArrayList<>(List.of("create", "-f", "toyfmt"));
      for (String a : e) {
        if (!a.equals("SIZE")) {
          qa.add(a);
          ba.add(a);
        }
      }
      qa.add(qp("bad.img"));
      ba.add(bp("bad.img"));
      if (List.of(e).contains("SIZE")) {
        qa.add("1M");
        ba.add("1M");
      }
      Cli.Result q1 = Qemu.run(qa.toArray(String[]::new));
      Cli.Result b1 = Cli.run(ba.toArray(String[]::new));
      assertEquals(1, q1.code(), Arrays.toString(e));
      assertEquals(1, b1.code(), Arrays.toString(e) + b1.err());
      assertFalse(Files.exists(b.resolve("bad.img")), Arrays.toString(e));
      if (e.length != 4) {
        assertEquals(message(q1).replace(q.toString(), "F"),
            message(b1).replace(b.toString(), "F"), Arrays.toString(e));
      }
    }
    Cli.Result raw = Cli.run("create", "-f", "raw", "-b", BASE, "-F", "raw", bp("r.raw"));
    assertEquals(1, raw.code());
    assertEquals(1, Qemu.run("create", "-f", "raw", "-b", BASE, "-F", "raw", qp("r.raw")).code());
  }
}
