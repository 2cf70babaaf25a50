package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertTest {
  @TempDir
  Path dir;

  private static final OpenParams RO = OpenParams.readOnlyDefaults().withWarnings(w -> { });

  private static byte[] contents(String image, String format) throws Exception {
    try (BlockDevice d = BlockRegistry.load().open(image, RO.withFormat(format))) {
      ByteBuffer b = ByteBuffer.allocate((int) d.size());
      d.read(0, b);
      return b.array();
    }
  }

  /** A memory raw image with random runs of data and zeros; returns its bytes. */
  private static byte[] sparseSource(String image, long seed, int size) throws Exception {
    Cli.ok("create", "-f", "raw", image, Integer.toString(size));
    Random rnd = new Random(seed);
    byte[] model = new byte[size];
    try (BlockDevice d = BlockRegistry.load().open(image,
        OpenParams.defaults().withFormat("raw").withWarnings(w -> { }))) {
      for (int i = 0; i < 12; i++) {
        int off = rnd.nextInt(size);
        int len = Math.min(size - off, 1 + rnd.nextInt(600_000));
        byte[] data = new byte[len];
        rnd.nextBytes(data);
        if (rnd.nextInt(4) == 0) {
          java.util.Arrays.fill(data, len / 3, 2 * len / 3, (byte) 0); // zero run inside data
        }
        d.write(off, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, model, off, len);
      }
    }
    return model;
  }

  @Property(tries = 25)
  void convertCopiesEveryByteWhateverTheParallelismAndSparseness(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 12) int inFlight, @ForAll boolean outOfOrder,
      @ForAll @IntRange(min = 0, max = 3) int sparseChoice,
      @ForAll @IntRange(min = 1, max = 9_000_000) int size) throws Exception {
    String src = "memory:conv-src-" + UUID.randomUUID();
    byte[] model = sparseSource(src, seed, size);
    String dst = "memory:conv-dst-" + UUID.randomUUID();
    String sparse = List.of("0", "512", "4k", "64k").get(sparseChoice);
    List<String> args = new java.util.ArrayList<>(List.of("convert", "-f", "raw", "-O", "raw",
        "-m", Integer.toString(inFlight), "-S", sparse));
    if (outOfOrder) {
      args.add("-W");
    }
    args.add(src);
    args.add(dst);
    Cli.ok(args.toArray(String[]::new));
    assertArrayEquals(model, contents(dst, "raw"));
  }

  @Property(tries = 10)
  void convertIntoAnExistingDirtyTargetZeroesWhatTheSourceLacks(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 8) int inFlight) throws Exception {
    String src = "memory:n-src-" + UUID.randomUUID();
    byte[] model = sparseSource(src, seed, 3 << 20);
    String dst = "memory:n-dst-" + UUID.randomUUID();
    Cli.ok("create", "-f", "raw", dst, "4M");
    try (BlockDevice d = BlockRegistry.load().open(dst,
        OpenParams.defaults().withFormat("raw").withWarnings(w -> { }))) {
      byte[] junk = new byte[4 << 20];
      java.util.Arrays.fill(junk, (byte) 0x5a);
      d.write(0, ByteBuffer.wrap(junk));
    }
    Cli.ok("convert", "-n", "-m", Integer.toString(inFlight), "-f", "raw", "-O", "raw", src, dst);
    byte[] got = contents(dst, "raw");
    assertArrayEquals(model, java.util.Arrays.copyOf(got, model.length));
    assertEquals(0x5a, got[got.length - 1], "bytes past the source's end are left alone");
  }

  @Test
  void targetIsZeroSkipsZeroRunsOnAnExistingTarget() throws Exception {
    String src = "memory:tz-src-" + UUID.randomUUID();
    Cli.ok("create", "-f", "raw", src, "2M");
    String dst = "memory:tz-dst-" + UUID.randomUUID();
    Cli.ok("create", "-f", "raw", dst, "2M");
    try (BlockDevice d = BlockRegistry.load().open(dst,
        OpenParams.defaults().withFormat("raw").withWarnings(w -> { }))) {
      d.write(100, ByteBuffer.wrap(new byte[] {9}));
    }
    Cli.ok("convert", "-n", "--target-is-zero", "-O", "raw", "-f", "raw", src, dst);
    assertEquals(9, contents(dst, "raw")[100], "--target-is-zero trusts the caller: nothing written");
  }

  @Test
  void convertsCorpusImagesToRawAndVdiThatQemuCallsIdentical() throws Exception {
    Qemu.require();
    for (Path img : Corpus.images()) {
      if (img.getFileName().toString().startsWith("justinloveless")) {
        continue;
      }
      for (String fmt : List.of("raw", "vdi")) {
        Path out = dir.resolve("out." + fmt);
        Cli.ok("convert", "-O", fmt, img.toString(), out.toString());
        Cli.Result cmp = Qemu.run("compare", "-f", "vdi", "-F", fmt, img.toString(),
            out.toString());
        assertEquals(0, cmp.code(), img + " -> " + fmt + ": " + cmp.out() + cmp.err());
        Files.delete(out);
      }
    }
  }

  @Test
  void outputStaysSparseLikeQemus() throws Exception {
    Qemu.require();
    Path img = Corpus.image("Hubjertov91");
    Path ours = dir.resolve("ours.vdi");
    Path theirs = dir.resolve("theirs.vdi");
    Cli.ok("convert", "-O", "vdi", img.toString(), ours.toString());
    Qemu.run("convert", "-O", "vdi", img.toString(), theirs.toString());
    JsonNode a = Cli.ok("info", "--output=json", ours.toString()).json();
    JsonNode b = Cli.JSON.readTree(Qemu.run("info", "--output=json", theirs.toString()).out());
    assertEquals(b.get("virtual-size"), a.get("virtual-size"));
    assertTrue(Files.size(ours) <= Files.size(theirs) + 4096,
        "ours " + Files.size(ours) + " vs qemu " + Files.size(theirs));
    assertEquals(0, Qemu.run("compare", ours.toString(), theirs.toString()).code());
  }

  @Test
  void sparseZeroDetectionInsideDataLeavesHoles() throws Exception {
    Path src = dir.resolve("dense.raw");
    byte[] data = new byte[8 << 20];
    data[0] = 1;
    data[data.length - 1] = 1;
    Files.write(src, data); // fully allocated file, mostly zeros
    Path dst = dir.resolve("sparse.raw");
    Cli.ok("convert", "-f", "raw", "-O", "raw", src.toString(), dst.toString());
    JsonNode map = Cli.ok("map", "--output=json", dst.toString()).json();
    long dataBytes = 0;
    for (JsonNode r : map) {
      if (r.get("data").asBoolean()) {
        dataBytes += r.get("length").asLong();
      }
    }
    assertTrue(dataBytes <= 2 * 4096 * 2, "zeros were written: " + map);
    Path full = dir.resolve("full.raw");
    Cli.ok("convert", "-S", "0", "-f", "raw", "-O", "raw", src.toString(), full.toString());
    JsonNode fullMap = Cli.ok("map", "--output=json", full.toString()).json();
    assertEquals(1, fullMap.size(), "-S 0 writes everything: " + fullMap);
    assertTrue(fullMap.get(0).get("data").asBoolean());
  }

  @Test
  void failedConvertRemovesTheTargetItCreated() throws Exception {
    Path src = dir.resolve("src.raw");
    byte[] data = new byte[6 << 20];
    new Random(1).nextBytes(data);
    Files.write(src, data);
    Path dst = dir.resolve("dst.vdi");
    String opts = "driver=raw,file.driver=blkdebug,file.fail-read=2,file.file.filename=" + src;
    Cli.Result r = Cli.run("convert", "--image-opts", "-O", "vdi", opts, dst.toString());
    r.assertOneLineError(1);
    assertFalse(Files.exists(dst), "half-written target left behind");
  }

  @Test
  void aReadThatFailsOnceIsRetriedBySalvageAndNothingIsLost() throws Exception {
    Path src = dir.resolve("src.raw");
    byte[] data = new byte[6 << 20];
    new Random(2).nextBytes(data);
    Files.write(src, data);
    Path dst = dir.resolve("salvaged.raw");
    String opts = "driver=raw,file.driver=blkdebug,file.fail-read=2,file.once=on,"
        + "file.file.filename=" + src;
    Cli.Result r = Cli.run("convert", "-m", "1", "--salvage", "--image-opts", "-O", "raw", opts,
        dst.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals("", r.err());
    assertArrayEquals(data, Files.readAllBytes(dst));
  }

  @Property(tries = 12)
  void salvageZeroesExactlyTheUnreadableRange(@ForAll @IntRange(min = 0, max = 5_000_000) int bad,
      @ForAll @IntRange(min = 1, max = 3_000_000) int badLen, @ForAll boolean plainIoException,
      @ForAll @IntRange(min = 1, max = 8) int inFlight) throws Exception {
    int size = 6 << 20;
    int badEnd = Math.min(size, bad + badLen);
    String img = "memory:salv-" + UUID.randomUUID();
    Cli.ok("create", "-f", "clitest", "-o", "bad-offset=" + bad + ",bad-length=" + (badEnd - bad)
        + ",bad-plain=" + (plainIoException ? "on" : "off"), img, Integer.toString(size));
    byte[] data = new byte[size];
    new Random(bad).nextBytes(data);
    try (BlockDevice d = BlockRegistry.load().open(img,
        OpenParams.defaults().withFormat("raw").withWarnings(w -> { }))) {
      d.write(CheckableFormat.HEADER, ByteBuffer.wrap(data));
    }
    String dst = "memory:salv-out-" + UUID.randomUUID();
    Cli.Result failed = Cli.run("convert", "-O", "raw", img, dst);
    failed.assertOneLineError(1);
    Cli.Result r = Cli.run("convert", "--salvage", "-m", Integer.toString(inFlight), "-O", "raw",
        img, dst);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("warning: could not read"), r.err());
    byte[] got = contents(dst, "raw");
    // plain IOExceptions are narrowed down to 512-byte sectors, so the zeroed range may be wider
    int lo = plainIoException ? bad / 512 * 512 : bad;
    int hi = plainIoException ? Math.min(size, (badEnd + 511) / 512 * 512) : badEnd;
    for (int i = 0; i < size; i++) {
      byte expected = i >= lo && i < hi ? 0 : data[i];
      if (got[i] != expected) {
        throw new AssertionError("byte " + i + ": " + got[i] + " != " + expected + " (bad " + bad
            + ".." + badEnd + ")");
      }
    }
  }

  @Test
  void salvageOnTheTruncatedCorpusImage() throws Exception {
    Path img = Corpus.image("justinloveless_OSDev__05a5472");
    Path out = dir.resolve("t.raw");
    Cli.Result plain = Cli.run("convert", "-O", "raw", img.toString(), out.toString());
    plain.assertOneLineError(1);
    assertFalse(Files.exists(out));
    Cli.Result salvaged = Cli.run("convert", "--salvage", "-O", "raw", img.toString(),
        out.toString());
    assertEquals(0, salvaged.code(), salvaged.err());
    assertTrue(salvaged.err().contains("warning"), salvaged.err());
    assertEquals(2147483648L, Files.size(out));
  }

  @Test
  void progressLinesWhenNotOnATerminalAndJsonLines() throws Exception {
    String src = "memory:p-src-" + UUID.randomUUID();
    sparseSource(src, 3, 5 << 20);
    Cli.Result lines = Cli.ok("convert", "-p", "-f", "raw", "-O", "raw", src,
        "memory:p-dst-" + UUID.randomUUID());
    assertFalse(lines.out().contains("\r"), "no carriage returns off a terminal");
    assertTrue(lines.out().trim().endsWith("(100.00/100%)"), lines.out());
    Cli.Result bar = Cli.run(java.util.Map.of(), true, "convert", "-p", "-f", "raw", "-O", "raw",
        src, "memory:p-dst-" + UUID.randomUUID());
    assertTrue(bar.out().contains("\r"), "a bar redraws in place on a terminal");
    Cli.Result json = Cli.ok("convert", "--progress=json", "-f", "raw", "-O", "raw", src,
        "memory:p-dst-" + UUID.randomUUID());
    String[] events = json.out().trim().split("\n");
    assertTrue(events.length >= 2);
    long last = -1;
    for (String e : events) {
      JsonNode n = Cli.JSON.readTree(e);
      assertEquals(5 << 20, n.get("total-progress").asLong());
      assertTrue(n.get("current-progress").asLong() >= last);
      last = n.get("current-progress").asLong();
    }
    JsonNode end = Cli.JSON.readTree(events[events.length - 1]);
    assertEquals("concluded", end.get("status").asText());
    assertEquals(5 << 20, end.get("current-progress").asLong());
  }

  @Test
  void convertReplacesAnExistingTargetFile() throws Exception {
    Path src = dir.resolve("a.raw");
    Files.write(src, new byte[] {1, 2, 3, 4});
    Path dst = dir.resolve("b.raw");
    byte[] old = new byte[1 << 20];
    java.util.Arrays.fill(old, (byte) 7);
    Files.write(dst, old);
    Cli.ok("convert", "-f", "raw", "-O", "raw", src.toString(), dst.toString());
    assertArrayEquals(new byte[] {1, 2, 3, 4}, Files.readAllBytes(dst));
  }

  @Test
  void qemuCanReadOurVdiWrittenOutOfOrder() throws Exception {
    Qemu.require();
    Path src = dir.resolve("r.raw");
    byte[] data = new byte[9 << 20];
    new Random(5).nextBytes(data);
    java.util.Arrays.fill(data, 1 << 20, 3 << 20, (byte) 0);
    Files.write(src, data);
    Path vdi = dir.resolve("w.vdi");
    Cli.ok("convert", "-W", "-m", "16", "-f", "raw", "-O", "vdi", src.toString(), vdi.toString());
    assertEquals(0, Qemu.run("check", vdi.toString()).code());
    Cli.Result cmp = Qemu.run("compare", "-f", "raw", "-F", "vdi", src.toString(),
        vdi.toString());
    assertEquals(0, cmp.code(), cmp.out());
    try (RandomAccessFile r = new RandomAccessFile(src.toFile(), "rw")) {
      r.seek(5000);
      r.write(data[5000] + 1);
    }
    Cli.Result diff = Cli.run("compare", src.toString(), vdi.toString());
    assertEquals(1, diff.code());
    assertEquals(Qemu.run("compare", src.toString(), vdi.toString()).out(), diff.out());
  }
}
