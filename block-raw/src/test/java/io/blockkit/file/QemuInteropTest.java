package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageLockedException;
import io.blockkit.api.options.Options;
import io.blockkit.raw.RawDriver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file protocol against qemu-img and qemu-io, the reference peer: lock interplay in both
 * directions, and block status and allocation as qemu sees them. Skipped with a message when
 * qemu-utils is missing, except under {@code CI=true}.
 */
class QemuInteropTest {
  private static final long SEED = Long.getLong("blockkit.seed", new Random().nextLong());
  private final FileDriver driver = new FileDriver();
  @TempDir Path dir;

  @BeforeAll
  static void requireQemu() {
    boolean present = onPath("qemu-img") && onPath("qemu-io");
    if (!present && "true".equals(System.getenv("CI"))) {
      fail("qemu-img/qemu-io are required under CI=true (install qemu-utils)");
    }
    if (!present) {
      System.err.println("SKIPPED QemuInteropTest: qemu-img/qemu-io not found (install qemu-utils)");
    }
    assumeTrue(present, "qemu-img/qemu-io not found: install qemu-utils to run the interop tests");
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

  private record Result(int exit, String out, String err) {}

  private static Result run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "qemu tool hung: " + List.of(command));
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  /** An interactive qemu-io that keeps the image open until {@link Process#destroy}ed. */
  private static Process holdOpen(Path image, String... flags) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
    cmd.addAll(List.of(flags));
    cmd.add(image.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    InputStream in = p.getInputStream();
    StringBuilder seen = new StringBuilder();
    int c;
    while (!seen.toString().contains("qemu-io>") && (c = in.read()) >= 0) {
      seen.append((char) c);
    }
    if (!seen.toString().contains("qemu-io>")) {
      p.destroy();
      fail("qemu-io did not open " + image + ": " + seen);
    }
    return p;
  }

  private static void stop(Process p) throws InterruptedException {
    try {
      p.getOutputStream().write("quit\n".getBytes(StandardCharsets.US_ASCII));
      p.getOutputStream().close();
    } catch (IOException e) {
      // it may already be gone
    }
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
  }

  private Path image(String name, String options) throws IOException {
    Path p = dir.resolve(name);
    driver.create(new CreateRequest(p.toString(), null,
        Options.parse(options, driver.createOptions())));
    return p;
  }

  private BlockDevice open(Path p, boolean readOnly, boolean forceShare) throws IOException {
    return driver.open(new OpenRequest(p.toString(), null, Options.empty(), readOnly, forceShare,
        null, w -> { }));
  }

  @Test
  void qemuWriterKeepsBlockkitOutExceptForceShare() throws Exception {
    Path img = image("q1.img", "size=1M");
    Process qemu = holdOpen(img);
    try {
      assertThrows(ImageLockedException.class, () -> open(img, false, false));
      assertThrows(ImageLockedException.class, () -> open(img, true, false));
      try (BlockDevice peek = open(img, true, true)) {
        assertEquals(1 << 20, peek.size());
      }
    } finally {
      stop(qemu);
    }
    open(img, false, false).close();
  }

  @Test
  void blockkitWriterKeepsQemuWritersOut() throws Exception {
    Path img = image("q2.img", "size=1M");
    try (BlockDevice d = open(img, false, false)) {
      d.write(0, ByteBuffer.wrap(new byte[] {1}));
      Result w = run("qemu-io", "-f", "raw", "-c", "write 0 512", img.toString());
      assertNotEquals(0, w.exit(), "qemu-io wrote to an image blockkit has open: " + w);
      assertTrue((w.out() + w.err()).contains("lock"), w.toString());
      Result r = run("qemu-io", "-f", "raw", "-r", "-U", "-c", "read 0 512", img.toString());
      assertEquals(0, r.exit(), "qemu-io -U must still read: " + r);
    }
    Result after = run("qemu-io", "-f", "raw", "-c", "write 0 512", img.toString());
    assertEquals(0, after.exit(), "the lock is gone after close: " + after);
  }

  @Test
  void blockkitReaderKeepsQemuWritersOutButNotReaders() throws Exception {
    Path img = image("q3.img", "size=1M");
    try (BlockDevice d = open(img, true, false)) {
      Result w = run("qemu-io", "-f", "raw", "-c", "write 0 512", img.toString());
      assertNotEquals(0, w.exit(), "qemu-io wrote under a blockkit reader: " + w);
      Result r = run("qemu-io", "-f", "raw", "-r", "-c", "read 0 512", img.toString());
      assertEquals(0, r.exit(), "readers share: " + r);
    }
  }

  /** A qemu raw reader uses "consistent read" and, raw having no metadata, denies nothing. */
  @Test
  void qemuRawReaderSharesWithBlockkitReadersAndWriters() throws Exception {
    Path img = image("q4.img", "size=1M");
    Process qemu = holdOpen(img, "-r");
    try {
      open(img, true, false).close();
      open(img, false, false).close();
    } finally {
      stop(qemu);
    }
  }

  private static final Pattern MAP_ENTRY = Pattern.compile(
      "\"start\":\\s*(\\d+),\\s*\"length\":\\s*(\\d+),.*?\"zero\":\\s*(true|false),"
          + "\\s*\"data\":\\s*(true|false)");

  /** Block status through raw over file matches qemu-img map on a randomly sparse file. */
  @Test
  void mapMatchesQemuImg() throws Exception {
    Random random = new Random(SEED);
    Path img = image("map.img", "size=32M");
    try (BlockDevice file = open(img, false, false)) {
      for (int i = 0; i < 25; i++) {
        long off = (long) (random.nextDouble() * (32 << 20));
        int len = 1 + random.nextInt(200_000);
        len = (int) Math.min(len, (32L << 20) - off);
        byte[] data = new byte[len];
        random.nextBytes(data);
        file.write(off, ByteBuffer.wrap(data));
      }
      file.flush();
    }
    List<String> ours = new ArrayList<>();
    try (BlockDevice raw = new RawDriver().open(OpenRequest.of(img.toString(),
        open(img, true, false), true))) {
      long pos = 0;
      Extent run = null;
      while (pos < raw.size()) {
        Extent e = raw.blockStatus(pos, raw.size() - pos);
        if (run != null && run.zero() == e.zero() && run.data() == e.data()) {
          run = new Extent(run.offset(), run.length() + e.length(), run.data(), run.zero(), true,
              -1, null);
        } else {
          if (run != null) {
            ours.add(describe(run.offset(), run.length(), run.zero(), run.data()));
          }
          run = e;
        }
        pos = e.end();
      }
      ours.add(describe(run.offset(), run.length(), run.zero(), run.data()));
    }
    Result map = run("qemu-img", "map", "--output=json", "-f", "raw", img.toString());
    assertEquals(0, map.exit(), map.toString());
    List<String> theirs = new ArrayList<>();
    Matcher m = MAP_ENTRY.matcher(map.out());
    while (m.find()) {
      String d = describe(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
          Boolean.parseBoolean(m.group(3)), Boolean.parseBoolean(m.group(4)));
      theirs.add(d);
    }
    assertEquals(theirs, ours, "qemu-img map vs blockkit [seed " + SEED + "]");
  }

  @Test
  void sizesMatchQemuImgInfo() throws Exception {
    Path sparse = image("info.img", "size=8M");
    Path full = image("info-full.img", "size=3M,preallocation=full");
    for (Path img : List.of(sparse, full)) {
      try (BlockDevice d = open(img, false, false)) {
        d.write(5000, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        d.flush();
        Result info = run("qemu-img", "info", "-U", "--output=json", "-f", "raw",
            img.toString());
        assertEquals(0, info.exit(), info.toString());
        assertEquals(d.size(), jsonLong(info.out(), "virtual-size"), info.out());
        assertEquals(d.allocatedSize(), jsonLong(info.out(), "actual-size"), info.out());
      }
    }
  }

  private static long jsonLong(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\":\\s*(\\d+)").matcher(json);
    assertTrue(m.find(), key + " missing from " + json);
    return Long.parseLong(m.group(1));
  }

  private static String describe(long start, long length, boolean zero, boolean data) {
    return start + "+" + length + (zero ? " zero" : "") + (data ? " data" : "");
  }
}
