package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.error.BackingChainException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differencing VHDs built byte by byte ({@link HandVhd}), as Hyper-V lays them out, read as the
 * merge of child and parent: a sector whose bitmap bit is set comes from the child, every other
 * one from the parent (zeros where the parent has none). qemu-img cannot be the oracle here: it
 * opens these images as dynamic ones and reads zeros for every sector left to the parent.
 */
class HandBuiltDifferencingTest {
  private static final int BLOCK = 4096;
  private static final int SIZE = 16 * BLOCK;
  private static final UUID PARENT_ID = UUID.fromString("0e2f4a7c-1111-4c4c-9e9e-000000000042");
  private static final long PARENT_STAMP = 0x2d000000L;

  @TempDir
  Path dir;

  private byte[] parentContent;

  /** A dynamic parent with blocks 0..3 and 8 written, the rest left unallocated (zeros). */
  @BeforeEach
  void parent() throws IOException {
    parentContent = new byte[SIZE];
    HandVhd p = HandVhd.dynamic(SIZE, BLOCK).id(PARENT_ID).timestamp(PARENT_STAMP);
    for (int b : new int[] {0, 1, 2, 3, 8}) {
      byte[] data = Vhds.pattern(100 + b, BLOCK);
      System.arraycopy(data, 0, parentContent, b * BLOCK, BLOCK);
      p.fullBlock(b, data);
    }
    Files.write(dir.resolve("parent.vhd"), p.build());
  }

  /** The child's blocks: 0 with sectors 0, 2, 5 present; 3 with 1..7; 9 (over nothing) all. */
  private HandVhd child() {
    return HandVhd.differencing(SIZE, BLOCK).parent(PARENT_ID, PARENT_STAMP, "parent.vhd")
        .block(0, Vhds.pattern(1, BLOCK), 0, 2, 5)
        .block(3, Vhds.pattern(2, BLOCK), 1, 2, 3, 4, 5, 6, 7)
        .fullBlock(9, Vhds.pattern(3, BLOCK));
  }

  /** What {@link #child()} must read as over the parent. */
  private byte[] merged() {
    byte[] m = parentContent.clone();
    overlay(m, 0, Vhds.pattern(1, BLOCK), 0, 2, 5);
    overlay(m, 3, Vhds.pattern(2, BLOCK), 1, 2, 3, 4, 5, 6, 7);
    overlay(m, 9, Vhds.pattern(3, BLOCK), 0, 1, 2, 3, 4, 5, 6, 7);
    return m;
  }

  private static void overlay(byte[] m, int block, byte[] data, int... sectors) {
    for (int s : sectors) {
      System.arraycopy(data, s * 512, m, block * BLOCK + s * 512, 512);
    }
  }

  private String write(String name, byte[] image) throws IOException {
    return Files.write(dir.resolve(name), image).toString();
  }

  @Test
  void readsAsTheMergeOfChildAndParentSectorBySector() throws IOException {
    String child = write("child.vhd", child().locator("W2ru", ".\\parent.vhd").build());
    try (BlockDevice d = Vhds.open(child, true)) {
      assertEquals("vpc", d.driver().name(), "probed");
      assertEquals(SIZE, d.size());
      assertArrayEquals(merged(), Vhds.readAll(d));
      assertEquals("parent.vhd", d.info().backing().filename());
      assertEquals("vpc", d.info().backing().format());
      assertTrue(d.check(CheckMode.REPORT).isClean(), d.check(CheckMode.REPORT).toString());
      // Depth per sector: the child's present sectors at 0, the rest in the parent at 1.
      int[][] expect = {{0, 0}, {512, 1}, {1024, 0}, {1536, 1}, {2560, 0}, {3072, 1},
          {3 * BLOCK, 1}, {3 * BLOCK + 512, 0}, {9 * BLOCK, 0}, {10 * BLOCK, 1}};
      for (int[] e : expect) {
        assertEquals(e[1], BackingChain.status(d, e[0], 512).depth(), "depth at " + e[0]);
      }
    }
  }

  /** Every kind of locator Hyper-V, Virtual PC and Mac tools write leads to the parent. */
  static Stream<Arguments> locators() {
    return Stream.of(
        Arguments.of("W2ru", ".\\parent.vhd"),
        Arguments.of("W2ku", "ABSOLUTE"),
        Arguments.of("Wi2r", ".\\parent.vhd"),
        Arguments.of("Wi2k", "ABSOLUTE"),
        Arguments.of("MacX", "URL"),
        Arguments.of("none, header name only", null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("locators")
  void everyLocatorKindFindsTheParent(String code, String name) throws IOException {
    String absolute = dir.resolve("parent.vhd").toString();
    HandVhd c = child();
    if (name != null) {
      c.locator(code, switch (name) {
        case "ABSOLUTE" -> absolute;
        case "URL" -> "file://localhost" + absolute;
        default -> name;
      });
    }
    String child = write("child.vhd", c.build());
    try (BlockDevice d = Vhds.open(child, true)) {
      assertArrayEquals(merged(), Vhds.readAll(d), code);
    }
  }

  @Test
  void aMissingRelativeNameFallsBackToTheAbsoluteOne() throws IOException {
    String absolute = dir.resolve("parent.vhd").toString();
    String child = write("child.vhd", child().locator("W2ru", ".\\moved\\parent.vhd")
        .locator("W2ku", absolute).spaceInSectors().build());
    try (BlockDevice d = Vhds.open(child, true)) {
      assertArrayEquals(merged(), Vhds.readAll(d));
      assertEquals(absolute, d.info().backing().filename(), "the name that opened");
    }
  }

  @Test
  void aParentUnderNoRecordedNameIsAnErrorListingThemAll() throws IOException {
    String child = write("child.vhd", child().locator("W2ru", ".\\gone.vhd")
        .locator("W2ku", "C:\\VMs\\gone.vhd").build());
    Files.delete(dir.resolve("parent.vhd"));
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> Vhds.open(child, true));
    for (String part : new String[] {"gone.vhd", "W2ru", "W2ku", "C:/VMs/gone.vhd",
        "header.parent_name"}) {
      assertTrue(e.getMessage().contains(part), part + " in: " + e.getMessage());
    }
  }

  @Test
  void aParentWithAnotherUniqueIdIsRefusedUnlessNamedExplicitly() throws IOException {
    UUID other = UUID.fromString("0e2f4a7c-2222-4c4c-9e9e-000000000042");
    String child = write("child.vhd", HandVhd.differencing(SIZE, BLOCK)
        .parent(other, PARENT_STAMP, "parent.vhd").locator("W2ru", ".\\parent.vhd").build());
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> Vhds.open(child, true));
    assertTrue(e.getMessage().contains(PARENT_ID.toString())
        && e.getMessage().contains(other.toString()), e.getMessage());
    List<String> warnings = new ArrayList<>();
    try (BlockDevice d = Vhds.registry().open(child, Vhds.params(null, true, warnings)
        .withOptions(Map.of("backing.file.filename", dir.resolve("parent.vhd").toString())))) {
      assertArrayEquals(parentContent, Vhds.readAll(d));
    }
    assertTrue(warnings.stream().anyMatch(w -> w.contains(other.toString())), warnings.toString());
  }

  @Test
  void aParentWithAnotherTimeStampOpensWithAWarning() throws IOException {
    String child = write("child.vhd", HandVhd.differencing(SIZE, BLOCK)
        .parent(PARENT_ID, PARENT_STAMP + 3600, "parent.vhd").locator("W2ru", ".\\parent.vhd")
        .build());
    List<String> warnings = new ArrayList<>();
    try (BlockDevice d = Vhds.registry().open(child, Vhds.params(null, true, warnings))) {
      assertArrayEquals(parentContent, Vhds.readAll(d));
    }
    assertTrue(warnings.stream().anyMatch(w -> w.contains("time stamp")), warnings.toString());
  }

  @Test
  void aChainOfThreeReadsThroughEachLevel() throws IOException {
    UUID midId = UUID.fromString("0e2f4a7c-3333-4c4c-9e9e-000000000042");
    write("mid.vhd", child().id(midId).timestamp(0x2e000000L)
        .locator("W2ru", ".\\parent.vhd").build());
    String top = write("top.vhd", HandVhd.differencing(SIZE, BLOCK)
        .parent(midId, 0x2e000000L, "mid.vhd").locator("W2ru", ".\\mid.vhd")
        .block(0, Vhds.pattern(4, BLOCK), 1).block(9, Vhds.pattern(5, BLOCK), 7).build());
    byte[] expected = merged();
    overlay(expected, 0, Vhds.pattern(4, BLOCK), 1);
    overlay(expected, 9, Vhds.pattern(5, BLOCK), 7);
    try (BlockDevice d = Vhds.open(top, true)) {
      assertEquals(3, BackingChain.layers(d).size());
      assertArrayEquals(expected, Vhds.readAll(d));
      assertEquals(2, BackingChain.status(d, 512 * 3, 512).depth(), "parent's sector");
      assertEquals(1, BackingChain.status(d, 0, 512).depth(), "mid's sector");
      assertEquals(0, BackingChain.status(d, 512, 512).depth(), "top's sector");
    }
  }

  /**
   * Writes and zeros land in the child only: the parent's file is unchanged, a zeroed range
   * never shows the parent again after reopening (VirtualBox gh-850, dosbox-x 4545), and a
   * partial sector keeps the parent's bytes around it.
   */
  @Test
  void writesAndZerosStayInTheChild() throws IOException {
    String child = write("child.vhd", child().locator("W2ru", ".\\parent.vhd").build());
    byte[] parentFile = Files.readAllBytes(dir.resolve("parent.vhd"));
    byte[] expected = merged();
    try (BlockDevice d = Vhds.open(child, false)) {
      d.writeZeroes(BLOCK + 100, 2000); // parent-only block 1
      java.util.Arrays.fill(expected, BLOCK + 100, BLOCK + 2100, (byte) 0);
      byte[] data = Vhds.pattern(6, 10);
      Vhds.write(d, 512 + 7, data); // sector 1 of block 0, left to the parent until now
      System.arraycopy(data, 0, expected, 512 + 7, 10);
      d.discard(2 * BLOCK, BLOCK); // a discard keeps what the child reads
      assertArrayEquals(expected, Vhds.readAll(d));
      assertTrue(d.check(CheckMode.REPORT).isClean());
    }
    try (BlockDevice d = Vhds.open(child, true)) {
      assertArrayEquals(expected, Vhds.readAll(d), "after reopening");
    }
    assertArrayEquals(parentFile, Files.readAllBytes(dir.resolve("parent.vhd")),
        "the parent is never written");
    try (BlockDevice d = Vhds.registry().open(child, Vhds.params(null, true, null)
        .withOptions(Map.of("backing", "null")))) {
      byte[] own = Vhds.readAll(d);
      assertFalse(java.util.Arrays.equals(expected, own), "without the parent");
      assertArrayEquals(new byte[2000], java.util.Arrays.copyOfRange(own, BLOCK + 100,
          BLOCK + 2100), "the zeroed range is the child's own");
    }
  }
}
