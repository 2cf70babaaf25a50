package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every image of the shared corpus against its MANIFEST.tsv. */
class VdiCorpusTest {
  /** Hashing a whole virtual disk costs time; larger disks are hashed only on request. */
  private static final long HASH_LIMIT = Long.getLong("vdi.corpus.hashLimit", 8L << 30);
  private static final String TRUNCATED = "justinloveless_OSDev__05a5472_os-image.vdi";
  private static final String FRONT_MATTER = "justinloveless_OSDev__DiskFrontMatter.bin";

  record Entry(String file, long bytes, long virtualSize, String sha256, String notes) {}

  static Stream<Arguments> manifest() throws IOException {
    if (TestSupport.findCorpus().isEmpty()) {
      // One placeholder case, which the corpus rule skips (or fails) visibly when it reads it;
      // an argument source that skips itself would hide these tests from the counts.
      return Stream.of(Arguments.of(new Entry("corpus-absent.vdi", 0, 0, "", "")));
    }
    Path dir = TestSupport.corpus();
    List<Arguments> out = new ArrayList<>();
    List<String> lines = Files.readAllLines(dir.resolve("MANIFEST.tsv"));
    for (String line : lines.subList(1, lines.size())) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.split("\t");
      String sha = f[3].split(" ")[0];
      out.add(Arguments.of(new Entry(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), sha,
          f.length > 5 ? f[5] : "")));
    }
    return out.stream();
  }

  private static byte[] bytes(String name) throws IOException {
    return Files.readAllBytes(TestSupport.corpus().resolve(name));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("manifest")
  void opensProbesAndReportsTheVirtualSize(Entry e) throws Exception {
    byte[] b = bytes(e.file());
    assertEquals(e.bytes(), b.length);
    ByteBuffer head = ByteBuffer.wrap(b, 0, Math.min(b.length, 4096)).slice();
    assertEquals(100, TestSupport.DRIVER.probe(new ProbeInput(head, b.length, "")), e.file());
    try (VdiImage img = TestSupport.open(b, true)) {
      assertEquals(e.virtualSize(), img.size());
      ImageInfo info = img.info();
      assertEquals("vdi", info.format());
      assertEquals(e.virtualSize(), info.virtualSize());
      assertEquals(img.blockSize(), info.clusterSize());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("manifest")
  void readsBackTheManifestDigest(Entry e) throws Exception {
    if (e.file().equals(FRONT_MATTER)) {
      return;
    }
    if (e.virtualSize() > HASH_LIMIT) {
      System.err.println("SKIPPED digest of " + e.file() + " (" + e.virtualSize()
          + " bytes > vdi.corpus.hashLimit " + HASH_LIMIT + "); checked its block status instead");
      try (VdiImage img = TestSupport.open(bytes(e.file()), true)) {
        assertAllocatedMatchesHeader(img);
      }
      return;
    }
    try (VdiImage img = TestSupport.open(bytes(e.file()), true)) {
      Extent first = img.blockStatus(0, img.size());
      if (first.zero() && first.length() == img.size()) {
        // An empty disk: hash its size in zeros once, however many corpus images share it.
        assertEquals(e.sha256(), ZERO_DIGESTS.computeIfAbsent(img.size(), VdiCorpusTest::zeros));
        return;
      }
      assertEquals(e.sha256(), digest(img, e.file().equals(TRUNCATED)), e.file());
    }
  }

  private static final java.util.Map<Long, String> ZERO_DIGESTS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static String zeros(long size) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] z = new byte[1 << 20];
      for (long done = 0; done < size; done += z.length) {
        md.update(z, 0, (int) Math.min(z.length, size - done));
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException ex) {
      throw new AssertionError(ex);
    }
  }

  private static void assertAllocatedMatchesHeader(VdiImage img) throws IOException {
    long data = 0;
    for (long off = 0; off < img.size(); ) {
      Extent x = img.blockStatus(off, img.size() - off);
      if (x.data()) {
        data += x.length();
        // The data is readable and, for these corpus images, lies inside the file.
        TestSupport.read(img, x.offset(), (int) Math.min(x.length(), 1 << 20));
      } else {
        assertTrue(x.zero());
      }
      off = x.end();
    }
    assertEquals(img.header.blocksAllocated * img.blockSize(), data);
  }

  /**
   * SHA-256 of the whole virtual disk; zero extents are hashed from a zero buffer without reading.
   * With {@code salvage}, unreadable ranges hash as zeros (as qemu-img reads them).
   */
  static String digest(VdiImage img, boolean salvage) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] zeros = new byte[1 << 20];
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    long size = img.size();
    for (long off = 0; off < size; ) {
      Extent x = img.blockStatus(off, Math.min(size - off, 1L << 30));
      if (!x.data()) {
        for (long done = 0; done < x.length(); done += zeros.length) {
          md.update(zeros, 0, (int) Math.min(zeros.length, x.length() - done));
        }
      } else {
        for (long done = 0; done < x.length(); ) {
          int n = (int) Math.min(buf.capacity(), x.length() - done);
          buf.clear().limit(n);
          try {
            img.read(x.offset() + done, buf);
            md.update(buf.array(), 0, n);
            done += n;
          } catch (DataUnavailableException ex) {
            if (!salvage) {
              throw ex;
            }
            // Read what is readable before the failing range, hash the failing range as zeros.
            long good = ex.offset() - (x.offset() + done);
            if (good > 0) {
              buf.clear().limit((int) good);
              img.read(x.offset() + done, buf);
              md.update(buf.array(), 0, (int) good);
            }
            long bad = Math.min(ex.length(), n - Math.max(0, good));
            for (long z = 0; z < bad; z += zeros.length) {
              md.update(zeros, 0, (int) Math.min(zeros.length, bad - z));
            }
            done += Math.max(0, good) + bad;
          }
        }
      }
      off = x.end();
    }
    return HexFormat.of().formatHex(md.digest());
  }

  @Test
  void uuidTestVectorOfVirtualBox408() throws Exception {
    try (VdiImage img = TestSupport.open(bytes("von_pyVBox__TestHD_704741e_vbox408.vdi"), true)) {
      assertEquals("c92b558e-eba5-43e8-a8b3-984f946db1b2",
          img.info().formatSpecific().get("image-uuid"));
    }
  }

  @Test
  void truncatedFixedImageReadsInsideTheFileAndFailsPastItNamingTheBlock() throws Exception {
    byte[] b = bytes(TRUNCATED);
    try (VdiImage img = TestSupport.open(b, true)) {
      assertEquals(2147483648L, img.info().virtualSize());
      long dataInFile = b.length - img.header.dataOffset;
      byte[] first = TestSupport.read(img, 0, (int) dataInFile);
      byte[] expected = java.util.Arrays.copyOfRange(b, (int) img.header.dataOffset, b.length);
      assertEquals(HexFormat.of().formatHex(expected), HexFormat.of().formatHex(first));
      DataUnavailableException ex = assertThrows(DataUnavailableException.class,
          () -> TestSupport.read(img, dataInFile - 10, 20));
      assertTrue(ex.getMessage().contains("block 0 "), ex.getMessage());
      DataUnavailableException later = assertThrows(DataUnavailableException.class,
          () -> TestSupport.read(img, 5L << 20, 512));
      assertTrue(later.getMessage().contains("block 5 "), later.getMessage());
      assertEquals(5L << 20, later.offset());
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(2048, r.corruptions(), r.messages().toString());
      assertTrue(r.messages().get(0).contains("block 0"), r.messages().get(0));
    }
  }

  /**
   * The case: repair used to set block 0 FREE and cut the file, wiping the boot sector
   * and kernel (the only content). It keeps them now, padded with zeros to a whole block.
   */
  @Test
  void repairOfTheTruncatedImageKeepsItsBootSectorAndKernel() throws Exception {
    byte[] b = bytes(TRUNCATED);
    MemDevice file = new MemDevice(b);
    TestSupport.Salvaged before;
    try (VdiImage img = TestSupport.open(b, true)) {
      before = TestSupport.salvage(img, 0, 2 << 20);
      assertEquals(b.length - img.header.dataOffset, before.readableCount());
    }
    assertEquals((byte) 0x55, before.bytes()[510], "boot signature");
    assertEquals((byte) 0xaa, before.bytes()[511], "boot signature");
    try (VdiImage img = TestSupport.open(file, false)) {
      CheckReport r = img.check(CheckMode.REPAIR_ALL);
      assertTrue(r.isClean(), r.messages().toString());
      assertEquals(2048, r.corruptionsFixed());
    }
    try (VdiImage img = TestSupport.open(file.bytes(), true)) {
      assertTrue(img.check(CheckMode.REPORT).isClean());
      before.assertKeptIn(TestSupport.salvage(img, 0, 2 << 20), "after repair");
      assertEquals(img.header.dataOffset + (1 << 20), file.size());
      assertAllocatedMatchesHeader(img);
    }
  }

  @Test
  void frontMatterProbesAsVdiAndHas2048BlocksPastTheEnd() throws Exception {
    byte[] b = bytes(FRONT_MATTER);
    ByteBuffer head = ByteBuffer.wrap(b, 0, 4096).slice();
    assertEquals(100, TestSupport.DRIVER.probe(new ProbeInput(head, b.length, "DiskFrontMatter")));
    try (VdiImage img = TestSupport.open(b, true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertEquals(2048, r.corruptions());
      assertEquals(0, r.leaks());
      // A few lines for people, then one that counts the rest: the counts stay exact.
      assertEquals(21, r.messages().size(), r.messages().toString());
      assertEquals("ERROR: ... and 2028 more blocks whose data lie past the end of the file",
          r.messages().get(20));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("manifest")
  void healthyImagesCheckClean(Entry e) throws Exception {
    if (e.file().startsWith("justinloveless_OSDev")) {
      return;
    }
    try (VdiImage img = TestSupport.open(bytes(e.file()), true)) {
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), e.file() + ": " + r.messages());
    }
  }
}
