package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Differential tests against qemu-img and qemu-io, the reference peer. */
class VdiQemuInteropTest {
  private static final int MB = 1 << 20;

  @TempDir Path dir;

  record Result(int exit, String output) {}

  @BeforeAll
  static void requireQemu() {
    boolean present = onPath("qemu-img") && onPath("qemu-io");
    if (!present) {
      String msg = "qemu-img/qemu-io not on PATH: skipping the qemu differential tests";
      if (TestSupport.ci()) {
        throw new AssertionError(msg + " (CI=true requires them)");
      }
      System.err.println("SKIPPED: " + msg);
      Assumptions.abort(msg);
    }
  }

  private static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String d : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  private static Result run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + String.join(" ", cmd));
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private static byte[] pattern(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  /** Writes a mix of requests through our driver and the same bytes into a model. */
  private static byte[] exercise(VdiImage img, long size, long seed) throws IOException {
    Random r = new Random(seed);
    byte[] model = new byte[(int) size];
    List<long[]> writes = List.of(new long[] {0, 4096}, new long[] {MB - 100, 300},
        new long[] {3L * MB, 2 * MB}, new long[] {7L * MB + 12345, 70000},
        new long[] {size - 512, 512}, new long[] {10L * MB, MB});
    for (long[] w : writes) {
      byte[] data = pattern(r, (int) w[1]);
      TestSupport.write(img, w[0], data);
      System.arraycopy(data, 0, model, (int) w[0], data.length);
    }
    img.writeZeroes(3L * MB + 10, 100);
    Arrays.fill(model, (int) (3L * MB + 10), (int) (3L * MB + 110), (byte) 0);
    img.discard(10L * MB, MB);
    Arrays.fill(model, 10 * MB, 11 * MB, (byte) 0);
    TestSupport.write(img, 12L * MB, new byte[MB]);
    img.flush();
    return model;
  }

  @Test
  void ourImagesPassQemuCheckAndCompare() throws Exception {
    for (Map<String, String> opts : List.of(Map.of("size", "16M"),
        Map.of("size", "16M", "static", "on"), Map.of("size", "16M", "preallocation", "full"))) {
      long size = 16L * MB;
      MemDevice file = TestSupport.create(opts);
      byte[] model;
      try (VdiImage img = TestSupport.open(file, false)) {
        model = exercise(img, size, opts.hashCode());
      }
      Path vdi = dir.resolve("ours.vdi");
      Path raw = dir.resolve("model.raw");
      Files.write(vdi, file.bytes());
      Files.write(raw, model);
      Result check = run("qemu-img", "check", "-f", "vdi", vdi.toString());
      assertEquals(0, check.exit(), opts + ": " + check.output());
      Result compare = run("qemu-img", "compare", "-f", "vdi", "-F", "raw", vdi.toString(),
          raw.toString());
      assertEquals(0, compare.exit(), opts + ": " + compare.output());
      Result info = run("qemu-img", "info", "--output=json", "-f", "vdi", vdi.toString());
      assertTrue(info.output().contains("\"virtual-size\": " + size), info.output());
      assertTrue(info.output().contains("\"cluster-size\": " + MB), info.output());
    }
  }

  @Test
  void qemuWritesIntoOurImageAndWeReadIt() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "8M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, 0, new byte[] {1, 2, 3});
    }
    Path vdi = dir.resolve("ours.vdi");
    Files.write(vdi, file.bytes());
    Result w = run("qemu-io", "-f", "vdi", "-c", "write -P 0x5a 5M 4k", vdi.toString());
    assertEquals(0, w.exit(), w.output());
    try (VdiImage img = TestSupport.open(Files.readAllBytes(vdi), true)) {
      byte[] want = new byte[4096];
      Arrays.fill(want, (byte) 0x5a);
      assertArrayEquals(want, TestSupport.read(img, 5L * MB, 4096));
      assertArrayEquals(new byte[] {1, 2, 3}, TestSupport.read(img, 0, 3));
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
    }
  }

  @Test
  void qemuImagesReadByteExact() throws Exception {
    Path vdi = dir.resolve("qemu.vdi");
    Result c = run("qemu-img", "create", "-q", "-f", "vdi", vdi.toString(), "4M");
    assertEquals(0, c.exit(), c.output());
    Result w = run("qemu-io", "-f", "vdi", "-c", "write -P 0xab 1M 64k", vdi.toString());
    assertEquals(0, w.exit(), w.output());
    byte[] want = new byte[4 * MB];
    Arrays.fill(want, MB, MB + 65536, (byte) 0xab);
    try (VdiImage img = TestSupport.open(Files.readAllBytes(vdi), true)) {
      assertEquals(4L * MB, img.size());
      assertArrayEquals(want, TestSupport.read(img, 0, 4 * MB));
      assertTrue(img.check(CheckMode.REPORT).isClean());
      assertEquals(384L, img.info().formatSpecific().get("header-size"));
    }
    // And a write of ours into qemu's image passes qemu's own check and compare.
    MemDevice file = new MemDevice(Files.readAllBytes(vdi));
    try (VdiImage img = TestSupport.open(file, false)) {
      byte[] data = pattern(new Random(5), 3000);
      TestSupport.write(img, 3L * MB - 1000, data);
      System.arraycopy(data, 0, want, 3 * MB - 1000, 3000);
    }
    Files.write(vdi, file.bytes());
    Path raw = dir.resolve("want.raw");
    Files.write(raw, want);
    assertEquals(0, run("qemu-img", "check", "-f", "vdi", vdi.toString()).exit());
    Result compare = run("qemu-img", "compare", "-f", "vdi", "-F", "raw", vdi.toString(),
        raw.toString());
    assertEquals(0, compare.exit(), compare.output());
  }

  @Test
  void oddSizesAreRoundedUpLikeQemu() throws Exception {
    Path vdi = dir.resolve("odd.vdi");
    assertEquals(0, run("qemu-img", "create", "-q", "-f", "vdi", vdi.toString(), "1234").exit());
    try (VdiImage img = TestSupport.open(Files.readAllBytes(vdi), true)) {
      assertEquals(1536, img.size());
    }
    MemDevice file = TestSupport.create(Map.of("size", "1234"));
    Files.write(vdi, file.bytes());
    Result info = run("qemu-img", "info", "--output=json", "-f", "vdi", vdi.toString());
    assertTrue(info.output().contains("\"virtual-size\": 1536"), info.output());
  }

  /**
   * {@code qemu-img create -f vdi x 0} makes an image with no blocks (VirtualBox refuses it);
   * it opens, reads as 0 bytes and checks clean. Creating one stays refused, as in VirtualBox.
   */
  @Test
  void qemusZeroSizeImageOpens() throws Exception {
    Path vdi = dir.resolve("zero.vdi");
    assertEquals(0, run("qemu-img", "create", "-q", "-f", "vdi", vdi.toString(), "0").exit());
    MemDevice file = new MemDevice(Files.readAllBytes(vdi));
    try (VdiImage img = TestSupport.open(file, false)) {
      assertEquals(0, img.size());
      assertEquals(0L, img.info().formatSpecific().get("blocks"));
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
    }
    Files.write(vdi, file.bytes());
    assertEquals(0, run("qemu-img", "check", "-f", "vdi", vdi.toString()).exit());
    org.junit.jupiter.api.Assertions.assertThrows(
        io.blockkit.api.error.InvalidOptionException.class,
        () -> TestSupport.create(Map.of("size", "0")));
  }

  @Test
  void qemuConvertOfOurImageMatchesWhatWeRead() throws Exception {
    MemDevice file = TestSupport.create(Map.of("size", "16M"));
    byte[] model;
    try (VdiImage img = TestSupport.open(file, false)) {
      model = exercise(img, 16L * MB, 99);
    }
    Path vdi = dir.resolve("ours.vdi");
    Path out = dir.resolve("converted.raw");
    Files.write(vdi, file.bytes());
    Result conv = run("qemu-img", "convert", "-f", "vdi", "-O", "raw", vdi.toString(),
        out.toString());
    assertEquals(0, conv.exit(), conv.output());
    assertArrayEquals(model, Files.readAllBytes(out));
    List<String> lines = new ArrayList<>();
    lines.add(run("qemu-img", "map", "--output=json", "-f", "vdi", vdi.toString()).output());
    assertTrue(lines.get(0).contains("\"data\": true"), lines.get(0));
  }

  /**
   * After the lifecycle operations qemu-img does not have for VDI (resize with block moves,
   * compact, amend), qemu-img still checks the image clean and reads what we read. The images
   * start as qemu-img made them: data right after the map, so growth must move blocks.
   */
  @Test
  void afterResizeCompactAndAmendQemuChecksAndCompares() throws Exception {
    Path vdi = dir.resolve("life.vdi");
    Result made = run("qemu-img", "create", "-f", "vdi", vdi.toString(), "16M");
    assertEquals(0, made.exit(), made.output());
    Random r = new Random(17);
    for (int i = 0; i < 6; i++) {
      Result w = run("qemu-io", "-f", "vdi", "-c", "write -P " + (i + 1) + " " + (i * 3) + "M 1M",
          vdi.toString());
      assertEquals(0, w.exit(), w.output());
    }
    MemDevice file = new MemDevice(Files.readAllBytes(vdi));
    String[] steps = {"grow to 2G", "zero and compact", "amend", "shrink to 20M"};
    try (VdiImage img = TestSupport.open(file, false)) {
      for (String step : steps) {
        switch (step) {
          case "grow to 2G" -> {
            long oldData = img.header.dataOffset;
            img.truncate(2048L * MB);
            assertTrue(img.header.dataOffset > oldData, "blocks moved for the map");
          }
          case "zero and compact" -> {
            TestSupport.write(img, 3L * MB, new byte[MB]);
            img.writeZeroes(9L * MB, MB);
            TestSupport.write(img, 40L * MB, pattern(r, 4096));
            img.compact();
          }
          case "amend" -> img.amend(io.blockkit.api.options.Options.of(Map.of("uuid",
              "6b9a1c3e-2f4d-4e5a-8b7c-9d0e1f2a3b4c", "comment", "after amend"),
              TestSupport.DRIVER.amendOptions()));
          default -> {
            img.discard(40L * MB, MB);
            img.truncate(20L * MB);
          }
        }
        img.flush();
        Files.write(vdi, file.bytes());
        Path raw = dir.resolve("model.raw");
        Files.write(raw, TestSupport.read(img, 0, (int) Math.min(img.size(), 64L * MB)));
        Result check = run("qemu-img", "check", "-f", "vdi", vdi.toString());
        assertEquals(0, check.exit(), step + ": " + check.output());
        Result compare = run("qemu-img", "compare", "-f", "vdi", "-F", "raw", vdi.toString(),
            raw.toString());
        // compare succeeds when the larger image is zeros past the smaller one
        assertEquals(0, compare.exit(), step + ": " + compare.output());
        Result info = run("qemu-img", "info", "--output=json", "-f", "vdi", vdi.toString());
        assertTrue(info.output().contains("\"virtual-size\": " + img.size()), info.output());
      }
    }
  }
}
