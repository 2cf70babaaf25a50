package io.blockkit.verify.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import io.blockkit.verify.Images;
import io.blockkit.verify.fuzz.FuzzContract.Outcome;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The committed seed corpus of the fuzz tests is what it claims to be, and {@link #regenerate}
 * writes it.
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
  static final String VDI = "VdiFuzzTestInputs/vdiImage";
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
    for (String dir : List.of(VDI, PROBE, OPTIONS)) {
      List<Path> files = files(dir);
      assertFalse(files.isEmpty(), dir + " has no seeds");
      for (Path f : files) {
        assertTrue(Files.size(f) <= MAX_SEED_BYTES, f + " is " + Files.size(f) + " bytes");
      }
    }
  }

  @Test
  void validVdiSeedsOpenAndCheckClean() throws IOException {
    Set<String> versions = new HashSet<>();
    Set<String> types = new HashSet<>();
    boolean blockExtra = false;
    boolean zeroEntry = false;
    for (Path f : files(VDI)) {
      if (!f.getFileName().toString().startsWith("valid-")) {
        continue;
      }
      byte[] image = imageOf(Files.readAllBytes(f));
      String location = MemoryFiles.put("seed-check", image);
      try (BlockDevice d = Images.open(location, "vdi", true)) {
        CheckReport report = d.check(CheckMode.REPORT);
        assertTrue(report.isClean(), () -> f.getFileName() + ": " + report);
        Images.readAll(d);
        ImageInfo info = d.info();
        Map<String, Object> fields = info.formatSpecific();
        versions.add(fields.get("version") + "/" + fields.get("header-size"));
        types.add((String) fields.get("type"));
        blockExtra |= ((Number) fields.get("block-extra")).longValue() > 0;
        zeroEntry |= hasZeroEntry(image, ((Number) fields.get("block-map-offset")).intValue(),
            ((Number) fields.get("blocks")).intValue());
      } finally {
        MemoryFiles.delete(location);
      }
    }
    assertEquals(Set.of("0.2/348", "1.1/384", "1.1/400"), versions, "header versions covered");
    assertEquals(Set.of("dynamic", "fixed", "undo", "differencing"), types, "types covered");
    assertTrue(blockExtra, "no seed has block_extra");
    assertTrue(zeroEntry, "no seed has a ZERO block map entry");
  }

  @Test
  void invalidVdiSeedsAreRefusedOrReported() throws IOException {
    for (Path f : files(VDI)) {
      if (!f.getFileName().toString().startsWith("invalid-")) {
        continue;
      }
      String location = MemoryFiles.put("seed-check", imageOf(Files.readAllBytes(f)));
      try {
        Outcome<BlockDevice> open = FuzzContract.attempt(() -> Images.open(location, "vdi", true));
        if (open.ok()) {
          try (BlockDevice d = open.value()) {
            assertFalse(d.check(CheckMode.REPORT).isClean(), f.getFileName() + " checks clean");
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
    Stream<VdiSeeds.Seed> vdi = Stream.concat(VdiSeeds.valid().stream(),
        VdiSeeds.invalid().stream());
    for (VdiSeeds.Seed s : (Iterable<VdiSeeds.Seed>) vdi::iterator) {
      // The op seed: any fixed 8 bytes; the name's hash keeps it stable across regenerations.
      byte[] ops = ByteBuffer.allocate(8).putLong(s.name().hashCode() * 0x9e3779b97f4a7c15L)
          .array();
      write(root.resolve(VDI).resolve(s.name()), concat(s.image(), ops));
      write(root.resolve(PROBE).resolve(s.name()), s.image());
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

  /** A vdi seed without its trailing 8-byte op seed (see {@link VdiFuzzTest}). */
  private static byte[] imageOf(byte[] seed) {
    return Arrays.copyOf(seed, seed.length - 8);
  }

  private static boolean hasZeroEntry(byte[] image, int mapOffset, int blocks) {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < blocks; i++) {
      if (b.getInt(mapOffset + 4 * i) == 0xfffffffe) {
        return true;
      }
    }
    return false;
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
