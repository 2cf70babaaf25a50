package io.blockkit.verify.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.DriverFeature;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import io.blockkit.verify.formats.FuzzTarget;
import io.blockkit.verify.formats.Seed;
import io.blockkit.verify.fuzz.FuzzContract.Outcome;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The committed seed corpus of the fuzz tests is what it claims to be, every format under test
 * with a fuzz target has its fuzz test, and {@link #regenerate} writes the corpus.
 *
 * <p>Seed files live where Jazzer looks for them: {@code
 * src/test/resources/io/blockkit/verify/fuzz/<Class>Inputs/<method>/}. Names tell their role:
 * {@code valid-*} images open and check clean, {@code invalid-*} ones must be refused or reported,
 * and {@code regression-*} files are inputs that once broke the contract (kept as found, with the
 * bug named). To regenerate the valid and invalid seeds after a format change:
 * <pre>
 * mvn -B verify -pl block-tests -am -Dtest=FuzzSeedCorpusTest#regenerate -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dblockkit.fuzz.writeSeeds=true
 * </pre>
 */
class FuzzSeedCorpusTest {
  static final String PROBE = "ProbeFuzzTestInputs/probeAndOpen";
  static final String OPTIONS = "OptionsFuzzTestInputs/optionStrings";
  /** Seeds must stay small: libFuzzer's default maximum input length is 4096 bytes. */
  private static final int MAX_SEED_BYTES = 8192;

  /** Option strings covering every syntax rule and every vdi create option. */
  private static final Map<String, String> OPTION_SEEDS = new LinkedHashMap<>();

  static {
    OPTION_SEEDS.put("valid-vdi-create", "size=64M,block_size=1M,preallocation=metadata");
    OPTION_SEEDS.put("valid-vdi-static", "size=1.5M,static=on,comment=a,,b");
    OPTION_SEEDS.put("valid-vdi-uuid",
        "size=4k,uuid=5eed0000-b10c-4b17-8000-000000000001,block_size=512K");
    OPTION_SEEDS.put("valid-bare-key", "static,preallocation=off,size=1G");
    OPTION_SEEDS.put("valid-all-types", "size=10T,flag=yes,count=-42,name=x=y,mode=c,,d");
    OPTION_SEEDS.put("valid-size-fraction", "0.5k");
    OPTION_SEEDS.put("valid-size-exa", "7E");
    OPTION_SEEDS.put("invalid-duplicate", "size=1M,size=2M");
    OPTION_SEEDS.put("invalid-empty-pair", "size=1M,,,x");
    OPTION_SEEDS.put("invalid-no-key", "=5");
    OPTION_SEEDS.put("invalid-size-overflow", "size=8E");
    OPTION_SEEDS.put("invalid-size-fraction", "size=1.3B");
    OPTION_SEEDS.put("invalid-uuid", "uuid=5eed0000-b10c-4b17-8000-00000000001");
  }

  @Test
  void everySeedIsSmall() throws IOException {
    List<String> dirs = new ArrayList<>(List.of(PROBE, OPTIONS));
    for (FormatUnderTest f : Formats.all()) {
      if (f.fuzz().applies()) {
        dirs.add(ImageFuzz.seedDirectory(f.name()));
      }
    }
    for (String dir : dirs) {
      List<Path> files = files(dir);
      assertFalse(files.isEmpty(), dir + " has no seeds");
      for (Path f : files) {
        assertTrue(Files.size(f) <= MAX_SEED_BYTES, f + " is " + Files.size(f) + " bytes");
      }
    }
  }

  /** For each format: its fuzz test, its valid seeds and its invalid seeds, or why it has none. */
  @TestFactory
  Stream<DynamicContainer> everyFormatsFuzzTargetAndSeeds() {
    return Formats.all().stream().map(f -> DynamicContainer.dynamicContainer(f.name(), Stream.of(
        DynamicTest.dynamicTest("has a @FuzzTest method " + ImageFuzz.testClassName(f.name())
            + "#" + ImageFuzz.testMethodName(f.name()), () -> fuzzTestExists(f)),
        DynamicTest.dynamicTest("valid seeds open and check clean, covering the format",
            () -> validSeedsOpenAndCheckClean(f)),
        DynamicTest.dynamicTest("invalid seeds are refused or reported",
            () -> invalidSeedsAreRefusedOrReported(f)))));
  }

  private static void fuzzTestExists(FormatUnderTest f) throws IOException {
    f.fuzz().orSkip(f.name(), "image fuzzing");
    String className = FuzzSeedCorpusTest.class.getPackageName() + "."
        + ImageFuzz.testClassName(f.name());
    try {
      Method m = Class.forName(className).getDeclaredMethod(ImageFuzz.testMethodName(f.name()),
          byte[].class);
      assertNotNull(m.getAnnotation(FuzzTest.class), m + " is not a @FuzzTest");
    } catch (ClassNotFoundException | NoSuchMethodException e) {
      fail(f.name() + " has a fuzz target but no fuzz test: add " + className + " with a "
          + "@FuzzTest method " + ImageFuzz.testMethodName(f.name()) + "(byte[]) calling "
          + "ImageFuzz.run(\"" + f.name() + "\", input)");
    }
    assertFalse(files(ImageFuzz.seedDirectory(f.name())).isEmpty(), "no seeds");
  }

  private static void validSeedsOpenAndCheckClean(FormatUnderTest f) throws IOException {
    FuzzTarget.SeedCoverage coverage = f.fuzz().orSkip(f.name(), "image fuzzing").coverage();
    boolean checks = f.has(DriverFeature.CHECK);
    int seen = 0;
    for (Path p : files(ImageFuzz.seedDirectory(f.name()))) {
      String name = p.getFileName().toString();
      if (!name.startsWith("valid-")) {
        continue;
      }
      seen++;
      byte[] image = f.fuzz().get().unfold(ImageFuzz.imageOf(Files.readAllBytes(p)));
      String location = MemoryFiles.put("seed-check", image);
      try (BlockDevice d = Images.open(location, f.name(), true)) {
        if (checks) {
          CheckReport report = d.check(CheckMode.REPORT);
          assertTrue(report.isClean(), () -> name + ": " + report);
        }
        Images.readAll(d);
        coverage.add(name, image, d.info());
      } finally {
        MemoryFiles.delete(location);
      }
    }
    assertTrue(seen > 0, f.name() + " has no valid-* seeds");
    coverage.assertComplete();
  }

  private static void invalidSeedsAreRefusedOrReported(FormatUnderTest f) throws IOException {
    f.fuzz().orSkip(f.name(), "image fuzzing");
    for (Path p : files(ImageFuzz.seedDirectory(f.name()))) {
      if (!p.getFileName().toString().startsWith("invalid-")) {
        continue;
      }
      String location = MemoryFiles.put("seed-check",
          f.fuzz().get().unfold(ImageFuzz.imageOf(Files.readAllBytes(p))));
      try {
        Outcome<BlockDevice> open = FuzzContract.attempt(() -> Images.open(location, f.name(),
            true));
        if (open.ok()) {
          try (BlockDevice d = open.value()) {
            assertTrue(f.has(DriverFeature.CHECK), p.getFileName() + " opens and the format "
                + "has no check to report it");
            assertFalse(d.check(CheckMode.REPORT).isClean(), p.getFileName() + " checks clean");
          }
        }
      } finally {
        MemoryFiles.delete(location);
      }
    }
  }

  /**
   * Writes the valid and invalid seeds of every fuzz test into {@code src/test/resources}; run by
   * the command in the class comment. Regression inputs found by fuzzing are left alone.
   */
  @Test
  @EnabledIfSystemProperty(named = "blockkit.fuzz.writeSeeds", matches = "true")
  void regenerate() throws IOException {
    Path root = Path.of("src/test/resources/io/blockkit/verify/fuzz");
    Map<String, String> probeSeedOwners = new HashMap<>();
    for (FormatUnderTest f : Formats.all()) {
      if (!f.fuzz().applies()) {
        continue;
      }
      List<Seed> seeds = new ArrayList<>(f.fuzz().get().validSeeds());
      seeds.addAll(f.fuzz().get().invalidSeeds());
      for (Seed s : seeds) {
        String other = probeSeedOwners.putIfAbsent(s.name(), f.name());
        assertNull(other, () -> "seed " + s.name() + " of " + f.name() + " has the name of one "
            + "of " + other + "'s; prefix it with the format's name");
        // The op seed: any fixed 8 bytes; the name's hash keeps it stable across regenerations.
        byte[] ops = ByteBuffer.allocate(8).putLong(s.name().hashCode() * 0x9e3779b97f4a7c15L)
            .array();
        byte[] stored = f.fuzz().get().fold(s.image());
        write(root.resolve(ImageFuzz.seedDirectory(f.name())).resolve(s.name()),
            concat(stored, ops));
        write(root.resolve(PROBE).resolve(s.name()), stored);
      }
    }
    write(root.resolve(PROBE).resolve("valid-raw-text"),
        "not an image, just text\n".getBytes(StandardCharsets.US_ASCII));
    write(root.resolve(PROBE).resolve("valid-toyfmt-1k"), created("toyfmt", "1k"));
    for (Map.Entry<String, String> e : OPTION_SEEDS.entrySet()) {
      write(root.resolve(OPTIONS).resolve(e.getKey()),
          e.getValue().getBytes(StandardCharsets.UTF_8));
    }
  }

  private static byte[] created(String format, String size) throws IOException {
    String location = MemoryFiles.put("seed", new byte[0]);
    try {
      Images.create(location, format, Map.of("size", size));
      return MemoryFiles.get(location);
    } finally {
      MemoryFiles.delete(location);
    }
  }

  private static void write(Path file, byte[] bytes) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, bytes);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** The seed files of one fuzz test, from the test classpath. */
  static List<Path> files(String dir) throws IOException {
    java.net.URL url = FuzzSeedCorpusTest.class.getResource(dir);
    if (url == null) {
      throw new IOException("no seed directory " + dir + " on the test classpath");
    }
    try (Stream<Path> s = Files.list(Path.of(url.toURI()))) {
      return s.filter(Files::isRegularFile).sorted().toList();
    } catch (URISyntaxException e) {
      throw new IOException(e);
    }
  }
}
