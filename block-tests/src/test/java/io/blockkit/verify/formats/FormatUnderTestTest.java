package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.ImageInfo;
import io.blockkit.verify.Images;
import io.blockkit.verify.PhysicalBlocks;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every writable format joins the verification suites, and each descriptor tells the truth about
 * its format: the suites trust what it declares (discard frees, block status tracks allocation,
 * cluster sizes), so a wrong declaration would weaken them silently. What a format does not offer
 * is listed here as a skipped test with the descriptor's reason.
 */
class FormatUnderTestTest {
  @TempDir
  Path tmp;

  /**
   * A FORMAT driver that writes must have a descriptor, or its write path escapes the power-loss,
   * injected-failure, concurrency, model-based and fuzz suites. Drivers defined by this module's
   * own tests (the toy plugin) are fixtures, not formats.
   */
  @Test
  void everyWritableFormatHasADescriptor() throws IOException {
    Set<String> described = new TreeSet<>();
    Formats.all().forEach(f -> described.add(f.name()));
    List<String> missing = new ArrayList<>();
    for (BlockDriver d : Images.registry().drivers()) {
      if (d.kind() == DriverKind.FORMAT && d.features().contains(DriverFeature.WRITE)
          && !isTestFixture(d) && !described.contains(d.name())) {
        missing.add(d.name());
      }
    }
    assertEquals(List.of(), missing, "writable formats without a FormatUnderTest: add a "
        + "descriptor to io.blockkit.verify.formats and a line to META-INF/services/"
        + FormatUnderTest.class.getName() + " (README: Adding a format to the verification "
        + "suites)");
  }

  private static boolean isTestFixture(BlockDriver d) {
    CodeSource mine = FormatUnderTestTest.class.getProtectionDomain().getCodeSource();
    CodeSource theirs = d.getClass().getProtectionDomain().getCodeSource();
    return mine != null && theirs != null && mine.getLocation().equals(theirs.getLocation());
  }

  @TestFactory
  Stream<DynamicContainer> everyDescriptor() {
    return Formats.all().stream().map(f -> {
      List<DynamicNode> tests = new ArrayList<>();
      tests.add(DynamicTest.dynamicTest("its driver is a format that creates and writes",
          () -> driverCreatesAndWrites(f)));
      for (Variant v : f.variants()) {
        tests.add(DynamicTest.dynamicTest("creates " + v + " with the declared cluster size",
            () -> createsVariant(f, v)));
      }
      tests.add(DynamicTest.dynamicTest("discard reads zeros and frees the cluster",
          () -> discardFrees(f)));
      tests.add(DynamicTest.dynamicTest("block status tracks allocation",
          () -> tracksAllocation(f)));
      tests.add(DynamicTest.dynamicTest("qemu-img check accepts its images",
          () -> qemuChecksItsImages(f)));
      tests.add(DynamicTest.dynamicTest("has an image fuzz target",
          () -> f.fuzz().orSkip(f.name(), "image fuzzing")));
      return DynamicContainer.dynamicContainer(f.name(), tests);
    });
  }

  private static void driverCreatesAndWrites(FormatUnderTest f) throws IOException {
    BlockDriver d = f.driver();
    assertEquals(DriverKind.FORMAT, d.kind());
    assertTrue(d.features().containsAll(Set.of(DriverFeature.CREATE, DriverFeature.WRITE)),
        f.name() + " declares " + d.features() + ": the suites create and write images");
    assertTrue(!f.variants().isEmpty() && !f.crashImages().isEmpty()
        && !f.concurrencyVariants().isEmpty() && !f.modelVariants().isEmpty(),
        f.name() + ": every suite needs at least one variant");
    for (Variant v : f.variants()) {
      assertEquals(f.name(), v.format(), v + " belongs to another format");
    }
  }

  /** What a check does with a fresh image. */
  private interface OnImage {
    void run(BlockDevice d) throws IOException;
  }

  /** Creates an image of {@code v} in memory, opens it read-write for {@code test}, deletes it. */
  private static void onNewImage(Variant v, long size, OnImage test) throws IOException {
    String location = Images.memoryName("descriptor");
    v.create(location, size);
    try (BlockDevice d = Images.open(location, v.format(), false)) {
      test.run(d);
    } finally {
      Images.delete(location);
    }
  }

  /** A new image of the variant opens, reports its cluster size, checks clean, keeps integrity. */
  private static void createsVariant(FormatUnderTest f, Variant v) throws IOException {
    onNewImage(v, 3 * v.clusterSize() + 7, d -> {
      ImageInfo info = d.info();
      assertEquals(f.name(), info.format());
      if (info.clusterSize() != 0) {
        assertEquals(v.clusterSize(), info.clusterSize(), v + ": cluster size");
      }
      Images.write(d, v.clusterSize() - 1, Images.pattern(1, 2));
      if (f.has(DriverFeature.CHECK)) {
        CheckReport r = d.check(CheckMode.REPORT);
        assertTrue(r.isClean(), v + ": " + r);
      }
      f.assertIntegrity(d, v, v + ", new image with two clusters written");
    });
  }

  private static void discardFrees(FormatUnderTest f) throws IOException {
    if (!f.discardFrees()) {
      Support.not("the descriptor declares that discard may keep the old data, so the suites "
          + "accept old data or zeros after a discard and use writeZeroes where they need zeros")
          .orSkip(f.name(), "discard-frees check");
    }
    Variant v = f.variants().get(0);
    long cs = v.clusterSize();
    onNewImage(v, 3 * cs, d -> {
      Images.write(d, cs, Images.pattern(2, (int) cs));
      d.discard(cs, cs);
      assertArrayEquals(new byte[(int) cs], Images.read(d, cs, (int) cs), "discarded cluster");
      if (f.tracksAllocation()) {
        assertEquals(Set.of(), PhysicalBlocks.dataClusters(d, cs), "clusters with data");
      }
    });
  }

  private static void tracksAllocation(FormatUnderTest f) throws IOException {
    if (!f.tracksAllocation()) {
      Support.not("the descriptor declares that block status does not say which clusters "
          + "hold data").orSkip(f.name(), "allocation check");
    }
    Variant v = f.variants().get(0);
    long cs = v.clusterSize();
    onNewImage(v, 4 * cs, d -> {
      assertEquals(Set.of(), PhysicalBlocks.dataClusters(d, cs), "a new image's data clusters");
      Images.write(d, 0, Images.pattern(3, 10));
      Images.write(d, 3 * cs - 1, Images.pattern(4, 2));
      assertEquals(Set.of(0L, 2L, 3L), PhysicalBlocks.dataClusters(d, cs), "clusters written");
    });
  }

  private void qemuChecksItsImages(FormatUnderTest f) throws IOException {
    QemuCheck q = f.qemuCheck().orSkip(f.name(), "qemu-img check");
    Qemu.require("qemu-img");
    List<Variant> read = f.variants().stream().filter(q::reads).toList();
    assertTrue(!read.isEmpty(), "qemu-img reads none of " + f.variants());
    for (Variant v : read) {
      Path file = Files.createTempFile(tmp, "descriptor", "." + f.name());
      v.create(file.toString(), 3 * v.clusterSize());
      try (BlockDevice d = Images.open(file.toString(), f.name(), false)) {
        Images.write(d, v.clusterSize() - 100, Images.pattern(5, 200));
      }
      Qemu.Result r = Qemu.img("check", "-f", q.format(), file.toString());
      assertEquals(0, r.exitCode(), v + ": " + r.stdout() + r.stderr());
    }
  }
}
