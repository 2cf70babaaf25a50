package io.blockkit.verify.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.ops.Convert;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import io.blockkit.verify.Stress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Differential tests against qemu-img and qemu-io: images written by qemu read back identical
 * through blockkit; images written by blockkit pass {@code qemu-img check} and {@code qemu-img
 * compare} against the same data as raw; {@code qemu-img map --output=json} agrees with
 * blockStatus. Each run prints its seed; {@code -Dblockkit.seed=N} repeats it.
 */
class QemuDifferentialTest {
  private static final int MIB = 1 << 20;

  @TempDir
  Path dir;

  @BeforeEach
  void needsQemu() {
    Qemu.require("qemu-img", "qemu-io");
  }

  private static void needsDriver(String format) throws IOException {
    Assumptions.assumeTrue(Images.registry().find(format).isPresent(),
        "driver " + format + " is not on the classpath yet");
  }

  /** A random size around the 1 MiB block edges, rounded up to a sector as qemu does. */
  private static long randomSize(Random rnd) {
    long[] edges = {512, MIB - 512, MIB, MIB + 512, 3L * MIB + 4096, 4L * MIB + 2560};
    long s = rnd.nextInt(3) == 0 ? 512 + rnd.nextInt(5 * MIB) : edges[rnd.nextInt(edges.length)];
    return (s + 511) / 512 * 512;
  }

  /** An offset biased to block boundaries and the image's end. */
  private static long randomOffset(Random rnd, long size) {
    return switch (rnd.nextInt(3)) {
      case 0 -> Math.max(0, Math.min(size - 1,
          (long) rnd.nextInt((int) (size / MIB) + 1) * MIB + rnd.nextInt(5) - 2));
      case 1 -> size - 1 - rnd.nextInt((int) Math.min(size, 600));
      default -> (long) (rnd.nextDouble() * size);
    };
  }

  private static int randomLength(Random rnd, long offset, long size) {
    int want = switch (rnd.nextInt(3)) {
      case 0 -> 1 + rnd.nextInt(4);
      case 1 -> 1 + rnd.nextInt(70_000);
      default -> 1 + rnd.nextInt(2 * MIB + 3);
    };
    return (int) Math.min(want, size - offset);
  }

  private static String seedNote(long seed) {
    return " (seed " + seed + "; rerun with -Dblockkit.seed=" + seed + ")";
  }

  /** Up to a dozen qemu-io writes (patterns and zeros) at random places, applied to the model. */
  private static List<String> randomWrites(Random rnd, byte[] model) {
    long size = model.length;
    List<String> commands = new ArrayList<>();
    for (int i = 0, n = 1 + rnd.nextInt(12); i < n; i++) {
      long off = randomOffset(rnd, size);
      int len = randomLength(rnd, off, size);
      if (rnd.nextInt(5) == 0) {
        commands.add("write -z " + off + " " + len);
        Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
      } else {
        int p = 1 + rnd.nextInt(255);
        commands.add("write -P 0x" + Integer.toHexString(p) + " " + off + " " + len);
        Arrays.fill(model, (int) off, (int) off + len, (byte) p);
      }
    }
    return commands;
  }

  /**
   * blockkit's convert to raw of images qemu-io wrote at random places: the copy maps the
   * source's data from the file offsets that block status names (clusters and blocks out of
   * guest order, partly present blocks, zeroed ranges, runs that continue in another place of
   * the file), and the raw file must hold exactly what was written.
   */
  @ParameterizedTest
  @ValueSource(strings = {"qcow2", "vmdk", "vhdx", "vpc", "vdi"})
  void convertsOfImagesWrittenByQemuIoHoldWhatWasWritten(String format) throws Exception {
    needsDriver(format);
    long seed = Stress.seed();
    Random rnd = new Random(seed);
    for (int round = 0; round < Stress.iterations(4, 40); round++) {
      Path image = dir.resolve("c" + round + "." + format);
      Qemu.img("create", "-q", "-f", format, image.toString(),
          Long.toString(randomSize(rnd) + 4L * MIB)).expect(0);
      long size;
      try (BlockDevice d = Images.open(image.toString(), format, true)) {
        size = d.size(); // vpc rounds to its geometry
      }
      byte[] model = new byte[(int) size];
      List<String> commands = new ArrayList<>();
      if (rnd.nextBoolean()) {
        // one long run written first lies in consecutive clusters: whole chunks map
        int len = (int) Math.min(size, 3 * MIB);
        commands.add("write -P 0x5a 0 " + len);
        Arrays.fill(model, 0, len, (byte) 0x5a);
      }
      commands.addAll(randomWrites(rnd, model));
      Qemu.io(format, image, commands).expect(0);
      Path raw = dir.resolve("c" + round + ".raw");
      try (BlockDevice d = Images.open(image.toString(), format, true)) {
        Convert.from(d).to(raw.toString()).format("raw").run(Images.registry());
      }
      int at = Images.mismatch(model, Files.readAllBytes(raw));
      if (at >= 0) {
        fail("byte " + at + " differs in the raw convert of " + format + " of " + size
            + " bytes after " + commands + seedNote(seed));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"vdi", "raw"})
  void imagesWrittenByQemuIoReadBackIdentical(String format) throws Exception {
    needsDriver(format);
    long seed = Stress.seed();
    Random rnd = new Random(seed);
    for (int round = 0; round < Stress.iterations(6, 60); round++) {
      long size = randomSize(rnd);
      Path image = dir.resolve("q" + round + "." + format);
      Qemu.img("create", "-q", "-f", format, image.toString(), Long.toString(size)).expect(0);
      byte[] model = new byte[(int) size];
      List<String> commands = randomWrites(rnd, model);
      Qemu.io(format, image, commands).expect(0);
      String what = format + " of " + size + " bytes after " + commands + seedNote(seed);
      // qemu-img runs while blockkit has the file closed: blockkit's whole-file POSIX lock
      // (even a shared one) reads to qemu as "consistent read unshared".
      List<Qemu.MapEntry> map = qemuMap(image, format);
      try (BlockDevice d = Images.registry().open(image.toString(),
          Images.quiet(null).withReadOnly(true))) {
        assertEquals(format, d.driver().name(), "probed format of " + what);
        assertEquals(size, d.size(), "size of " + what);
        assertMapAgrees(map, d, what);
        int at = Images.mismatch(model, Images.readAll(d));
        if (at >= 0) {
          fail("byte " + at + " differs in " + what);
        }
        if (d.capabilities().contains(Capability.CHECK)) {
          CheckReport r = d.check(CheckMode.REPORT);
          assertTrue(r.isClean(), "check of " + what + ": " + r);
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"vdi-dynamic", "vdi-static", "raw"})
  void imagesWrittenByBlockkitPassQemuCheckAndCompare(String variant) throws Exception {
    String format = variant.startsWith("vdi") ? "vdi" : variant;
    needsDriver(format);
    long seed = Stress.seed();
    Random rnd = new Random(seed);
    for (int round = 0; round < Stress.iterations(5, 50); round++) {
      long size = randomSize(rnd);
      Path image = dir.resolve("b" + round + "." + format);
      Map<String, String> opts = variant.equals("vdi-static")
          ? Map.of("size", Long.toString(size), "static", "on")
          : Map.of("size", Long.toString(size));
      Images.registry().create(image.toString(), format, opts);
      byte[] model;
      List<String> log = new ArrayList<>();
      try (BlockDevice d = Images.registry().open(image.toString(), Images.quiet(format))) {
        model = new byte[(int) d.size()];
        for (int i = 0, n = 1 + rnd.nextInt(12); i < n; i++) {
          long off = randomOffset(rnd, model.length);
          int len = randomLength(rnd, off, model.length);
          if (rnd.nextInt(6) == 0) {
            d.writeZeroes(off, len);
            Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
            log.add("zero " + off + "+" + len);
          } else {
            byte[] data = Images.pattern(rnd.nextLong(), len);
            Images.write(d, off, data);
            System.arraycopy(data, 0, model, (int) off, len);
            log.add("write " + off + "+" + len);
          }
        }
        d.flush();
      }
      String what = variant + " of " + size + " bytes after " + log + seedNote(seed);
      Path reference = dir.resolve("ref" + round + ".raw");
      Files.write(reference, model);
      if (format.equals("vdi")) {
        Qemu.Result check = Qemu.img("check", "-f", format, image.toString());
        assertEquals(0, check.exitCode(), "qemu-img check of " + what + "\n" + check.stdout()
            + check.stderr());
      }
      Qemu.Result cmp = Qemu.img("compare", "-f", format, "-F", "raw", image.toString(),
          reference.toString());
      assertEquals(0, cmp.exitCode(), "qemu-img compare of " + what + "\n" + cmp.stdout()
          + cmp.stderr());
      List<Qemu.MapEntry> map = qemuMap(image, format);
      try (BlockDevice d = Images.registry().open(image.toString(),
          Images.quiet(format).withReadOnly(true))) {
        assertMapAgrees(map, d, what);
      }
    }
  }

  /**
   * qemu-img map's data/zero flags agree with blockStatus over every byte. Both sides may split
   * runs differently, so the two lists are swept together.
   */
  /**
   * Disagreements both answers of which are allowed by block-status semantics (every zero claim is
   * then verified by reading). Over a plain file, holes come from SEEK_DATA, whose answer for
   * ext4's unwritten extents changes once a read (even probing's) pulled them into the page cache.
   * Fixed VDI images: qemu recurses into the host file (BDRV_BLOCK_RECURSE) and reports its holes
   * as zero; blockkit's vdi answers from the block map only, data without zero, which is
   * conservative, so only that direction is accepted.
   */
  private static boolean tolerated(BlockDevice d, Qemu.MapEntry q, Extent ours)
      throws IOException {
    if (!d.driver().name().equals("vdi")) {
      return true;
    }
    boolean fixed = "fixed".equals(d.info().formatSpecific().get("type"));
    return fixed && q.data() == ours.data() && q.zero() && !ours.zero();
  }

  static List<Qemu.MapEntry> qemuMap(Path image, String format) throws IOException {
    return Qemu.parseMap(Qemu.img("map", "--output=json", "-f", format, image.toString())
        .expect(0).stdout());
  }

  static void assertMapAgrees(List<Qemu.MapEntry> theirs, BlockDevice d, String what)
      throws IOException {
    long size = d.size();
    long pos = 0;
    int i = 0;
    Extent ours = null;
    while (pos < size) {
      while (i < theirs.size() && theirs.get(i).end() <= pos) {
        i++;
      }
      if (i >= theirs.size()) {
        fail("qemu-img map stops at " + pos + " of " + size + " for " + what);
      }
      Qemu.MapEntry q = theirs.get(i);
      if (ours == null || ours.end() <= pos) {
        ours = d.blockStatus(pos, size - pos);
      }
      long runEnd = Math.min(q.end(), ours.end());
      boolean same = q.data() == ours.data() && q.zero() == ours.zero();
      if (!same && !tolerated(d, q, ours)) {
        fail("at " + pos + " qemu-img map says data=" + q.data() + " zero=" + q.zero()
            + " but blockStatus says data=" + ours.data() + " zero=" + ours.zero() + " ("
            + ours + ") for " + what + "\nqemu: " + theirs);
      }
      if (!same && (q.zero() || ours.zero())) {
        byte[] bytes = Images.read(d, pos, (int) (runEnd - pos));
        if (Images.mismatch(bytes, new byte[bytes.length]) >= 0) {
          fail("at " + pos + " a zero claim is false: qemu-img map zero=" + q.zero()
              + ", blockStatus zero=" + ours.zero() + " for " + what);
        }
      }
      pos = runEnd;
    }
  }
}
