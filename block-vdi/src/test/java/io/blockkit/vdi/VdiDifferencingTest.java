package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.Extent;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.InvalidOptionException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Differencing images as the format reference describes them (section 1.8), built byte by byte
 * with {@link VdiBytes}: the parent is the image whose UUID the child records, found next to the
 * child or where {@code parent_search} says, never by name; FREE blocks read the parent, ZERO
 * blocks zeros (gh-850); modification UUIDs; chains with undo images; create over a parent.
 */
class VdiDifferencingTest {
  private static final int MB = 1 << 20;
  private static final UUID BASE = UUID.fromString("0a0a0a0a-1111-4111-8111-0a0a0a0a0a0a");
  private static final UUID BASE_MOD = UUID.fromString("0b0b0b0b-2222-4222-8222-0b0b0b0b0b0b");
  private static final UUID MID = UUID.fromString("0c0c0c0c-3333-4333-8333-0c0c0c0c0c0c");
  private static final UUID MID_MOD = UUID.fromString("0d0d0d0d-4444-4444-8444-0d0d0d0d0d0d");
  private static final UUID TOP = UUID.fromString("0e0e0e0e-5555-4555-8555-0e0e0e0e0e0e");

  @TempDir Path dir;
  Chains c;

  @BeforeEach
  void setUp() throws IOException {
    c = new Chains(dir);
  }

  /** A 4-block base: every block allocated, block i holding pattern(i). */
  private static VdiBytes base() {
    VdiBytes v = VdiBytes.dynamic(4L * MB, MB);
    for (int i = 0; i < 4; i++) {
      v.allocate(i, i);
    }
    v.create = BASE;
    v.modify = BASE_MOD;
    return v;
  }

  /** A child of {@code parent}: block 0 its own (physical 0, pattern 100), 1 FREE, 2 ZERO, 3 FREE. */
  private static VdiBytes child(int type, UUID self, UUID parent, UUID parentModify) {
    VdiBytes v = VdiBytes.dynamic(4L * MB, MB);
    v.type = type;
    v.create = self;
    v.linkage = parent;
    v.parentModify = parentModify;
    v.allocate(0, 0);
    v.physical = p -> VdiBytes.pattern(100 + p, MB);
    v.map[2] = BlockMap.ZERO;
    return v;
  }

  private static byte[] expectedChild(byte[] parentContent) {
    byte[] e = parentContent.clone();
    System.arraycopy(VdiBytes.pattern(100, MB), 0, e, 0, MB);
    Arrays.fill(e, 2 * MB, 3 * MB, (byte) 0);
    return e;
  }

  private static byte[] baseContent() {
    byte[] e = new byte[4 * MB];
    for (int i = 0; i < 4; i++) {
      System.arraycopy(VdiBytes.pattern(i, MB), 0, e, i * MB, MB);
    }
    return e;
  }

  @Test
  void theParentIsTheImageWithTheRecordedUuidWhateverItsName() throws IOException {
    VdiBytes decoy = base();
    decoy.create = UUID.randomUUID();
    decoy.physical = p -> VdiBytes.pattern(50 + p, MB);
    c.put("a-decoy.vdi", decoy.build());
    c.put("notes.txt", "not an image".getBytes());
    c.put("zz-renamed.img", base().build());
    c.put("child.vdi", child(4, TOP, BASE, BASE_MOD).build());
    try (BlockDevice d = c.open("child.vdi", true)) {
      assertArrayEquals(expectedChild(baseContent()), Chains.readAll(d),
          "FREE blocks read the parent, the ZERO block zeros although the parent has data");
      assertEquals("zz-renamed.img", d.info().backing().filename(), "the file found");
      assertEquals(c.path("zz-renamed.img"), d.info().backing().fullFilename());
      assertEquals("vdi", d.info().backing().format());
      assertEquals(BASE.toString(), d.info().formatSpecific().get("parent-uuid"));
      Extent free = d.blockStatus(MB, MB);
      assertFalse(free.allocated(), "a FREE block is the parent's: " + free);
      Extent zero = d.blockStatus(2 * MB, MB);
      assertTrue(zero.allocated() && zero.zero(), "a ZERO block is the child's zeros: " + zero);
      assertEquals(1, BackingChain.status(d, MB, MB).depth());
      assertEquals(0, BackingChain.status(d, 2 * MB, MB).depth());
      assertTrue(c.warnings.isEmpty(), c.warnings.toString());
    }
  }

  /** VirtualBox's layout: the base disk in the VM folder, snapshots in Snapshots/ below it. */
  @Test
  void aSnapshotFindsTheBaseDiskInTheFolderAbove() throws IOException {
    c.put("vm/disk.vdi", base().build());
    c.put("vm/Snapshots/{" + TOP + "}.vdi", child(4, TOP, BASE, BASE_MOD).build());
    try (BlockDevice d = c.open("vm/Snapshots/{" + TOP + "}.vdi", true)) {
      assertArrayEquals(expectedChild(baseContent()), Chains.readAll(d));
      assertEquals("../disk.vdi", d.info().backing().filename());
    }
  }

  @Test
  void aMissingParentIsNamedByItsUuid() throws IOException {
    VdiBytes other = base();
    other.create = UUID.randomUUID();
    c.put("other.vdi", other.build());
    c.put("child.vdi", child(4, TOP, BASE, BASE_MOD).build());
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> c.open("child.vdi", true));
    assertTrue(e.getMessage().contains("{" + BASE + "}"), e.getMessage());
    assertTrue(e.getMessage().contains("parent_search"), e.getMessage());
    assertEquals(c.path("child.vdi"), e.chain().get(0));
  }

  @Test
  void parentSearchNamesAFolderOrAFile() throws IOException {
    c.put("parents/base-copy.vdi", base().build());
    c.put("child.vdi", child(4, TOP, BASE, BASE_MOD).build());
    assertThrows(BackingChainException.class, () -> c.open("child.vdi", true));
    for (String where : new String[] {"parents", "parents/", "parents/base-copy.vdi",
        c.path("parents")}) {
      try (BlockDevice d = c.open("child.vdi", true, Map.of("parent_search", where))) {
        assertArrayEquals(expectedChild(baseContent()), Chains.readAll(d), where);
        assertTrue(d.info().backing().fullFilename().endsWith("parents/base-copy.vdi"),
            d.info().backing().toString());
      }
    }
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> c.open("child.vdi", true, Map.of("parent_search", "nowhere")));
    assertTrue(e.getMessage().contains("nowhere"), e.getMessage());
  }

  @Test
  void aParentModifiedAfterTheChildWasMadeIsAWarning() throws IOException {
    c.put("base.vdi", base().build());
    c.put("child.vdi", child(4, TOP, BASE, UUID.randomUUID()).build());
    try (BlockDevice d = c.open("child.vdi", true)) {
      assertArrayEquals(expectedChild(baseContent()), Chains.readAll(d));
    }
    assertEquals(1, c.warnings.size(), c.warnings.toString());
    assertTrue(c.warnings.get(0).contains("was modified after"), c.warnings.get(0));
    assertTrue(c.warnings.get(0).contains(BASE_MOD.toString()), c.warnings.get(0));
    // A null parent modification UUID (older tools) records nothing to compare.
    c.warnings.clear();
    c.put("child.vdi", child(4, TOP, BASE, new UUID(0, 0)).build());
    c.open("child.vdi", true).close();
    assertTrue(c.warnings.isEmpty(), c.warnings.toString());
  }

  /** base (dynamic) <- mid (undo, type 3, with a parent) <- top (differencing) <- leaf. */
  @Test
  void chainsOfAnyDepthWithUndoImages() throws IOException {
    c.put("base.vdi", base().build());
    VdiBytes mid = VdiBytes.dynamic(4L * MB, MB);
    mid.type = 3;
    mid.create = MID;
    mid.modify = MID_MOD;
    mid.linkage = BASE;
    mid.parentModify = BASE_MOD;
    mid.allocate(1, 0);
    mid.physical = p -> VdiBytes.pattern(200, MB);
    c.put("mid.vdi", mid.build());
    VdiBytes top = child(4, TOP, MID, MID_MOD);
    c.put("top.vdi", top.build());
    UUID leafUuid = UUID.randomUUID();
    VdiBytes leaf = VdiBytes.dynamic(4L * MB, MB);
    leaf.type = 4;
    leaf.create = leafUuid;
    leaf.linkage = TOP;
    leaf.parentModify = top.modify;
    leaf.allocate(3, 0);
    leaf.physical = p -> VdiBytes.pattern(300, MB);
    c.put("leaf.vdi", leaf.build());
    byte[] expected = baseContent();
    System.arraycopy(VdiBytes.pattern(200, MB), 0, expected, MB, MB);
    expected = expectedChild(expected);
    System.arraycopy(VdiBytes.pattern(300, MB), 0, expected, 3 * MB, MB);
    try (BlockDevice d = c.open("leaf.vdi", true)) {
      assertArrayEquals(expected, Chains.readAll(d));
      assertEquals(4, BackingChain.layers(d).size());
      int[] depth = {1, 2, 1, 0};
      for (int b = 0; b < 4; b++) {
        assertEquals(depth[b], BackingChain.status(d, (long) b * MB, MB).depth(), "block " + b);
      }
      assertEquals("undo", BackingChain.layers(d).get(2).info().formatSpecific().get("type"));
    }
    // An undo image without a parent UUID is a base image, as VirtualBox treats type 3.
    VdiBytes lone = child(3, TOP, new UUID(0, 0), new UUID(0, 0));
    c.put("lone.vdi", lone.build());
    try (BlockDevice d = c.open("lone.vdi", true)) {
      assertTrue(d.backing().isEmpty());
      assertNull(d.info().backing());
      byte[] alone = expectedChild(new byte[4 * MB]);
      assertArrayEquals(alone, Chains.readAll(d));
    }
  }

  @Test
  void createTakesSizeUuidsAndGeometryFromTheParent() throws IOException {
    VdiBytes b = base();
    b.lchs = new int[] {8, 16, 63};
    c.put("base.vdi", b.build());
    c.create("child.vdi", Map.of("backing_file", "base.vdi"));
    byte[] f = c.get("child.vdi");
    assertEquals(4, Chains.intAt(f, 76), "type: differencing");
    assertEquals(BASE, Chains.parentUuid(f));
    assertEquals(BASE_MOD, Chains.parentModifyUuid(f));
    assertEquals(4L * MB, Chains.longAt(f, 368), "disk size from the parent");
    assertEquals(8, Chains.intAt(f, 456));
    assertEquals(16, Chains.intAt(f, 460));
    assertEquals(63, Chains.intAt(f, 464));
    try (BlockDevice d = c.open("child.vdi", true)) {
      assertArrayEquals(baseContent(), Chains.readAll(d));
    }
    c.create("big.vdi", Map.of("backing_file", "base.vdi", "backing_fmt", "vdi", "size", "6M"));
    try (BlockDevice d = c.open("big.vdi", true)) {
      byte[] expected = Arrays.copyOf(baseContent(), 6 * MB);
      assertArrayEquals(expected, Chains.readAll(d), "zeros past the parent's end");
    }
  }

  @Test
  void createRefusesParentsThatAreNoVdi() throws IOException {
    c.put("base.vdi", base().build());
    c.put("disk.raw", new byte[MB]);
    InvalidOptionException fmt = assertThrows(InvalidOptionException.class, () -> c.create(
        "x.vdi", Map.of("backing_file", "disk.raw", "backing_fmt", "raw")));
    assertTrue(fmt.getMessage().contains("backing_fmt"), fmt.getMessage());
    Exception probed = assertThrows(Exception.class,
        () -> c.create("y.vdi", Map.of("backing_file", "disk.raw")));
    assertTrue(probed.getMessage().contains("disk.raw"), probed.getMessage());
    assertThrows(InvalidOptionException.class, () -> c.create("z.vdi",
        Map.of("backing_file", "base.vdi", "static", "on")));
  }

  @Test
  void copyOnWriteKeepsTheParentsBytesAndZerosStayZeroAfterReopening() throws IOException {
    c.put("base.vdi", base().build());
    c.create("child.vdi", Map.of("backing_file", "base.vdi"));
    byte[] expected = baseContent();
    try (BlockDevice d = c.open("child.vdi", false)) {
      byte[] data = {9, 9, 9};
      d.write(MB + 1000, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, expected, MB + 1000, 3);
      d.write(2 * MB, ByteBuffer.wrap(new byte[MB]));
      Arrays.fill(expected, 2 * MB, 3 * MB, (byte) 0);
      d.writeZeroes(3 * MB + 10, 20);
      Arrays.fill(expected, 3 * MB + 10, 3 * MB + 30, (byte) 0);
      assertArrayEquals(expected, Chains.readAll(d));
      d.flush();
    }
    byte[] f = c.get("child.vdi");
    assertEquals(BlockMap.ZERO, Chains.entry(f, 2), "gh-850: zeros over a whole block are ZERO");
    assertEquals(BlockMap.FREE, Chains.entry(f, 0), "block 0 is still the parent's");
    try (BlockDevice d = c.open("child.vdi", false)) {
      assertArrayEquals(expected, Chains.readAll(d), "after reopening");
      assertEquals(0, d.check(CheckMode.REPORT).corruptions() + d.check(CheckMode.REPORT).leaks());
    }
    try (BlockDevice d = c.open("child.vdi", true, Map.of("backing", "null"))) {
      byte[] own = new byte[4 * MB];
      System.arraycopy(expected, MB, own, MB, MB);
      System.arraycopy(expected, 3 * MB, own, 3 * MB, MB);
      assertArrayEquals(own, Chains.readAll(d), "what the child holds itself");
      assertEquals("base.vdi", d.info().backing().filename(), "still named when dropped");
    }
  }

  /**
   * A commit writes into the parent through the child: the child then records the parent's new
   * modification UUID, so it opens without a warning, as after VirtualBox's merge.
   */
  @Test
  void writingTheParentThroughTheChildUpdatesTheRecordedModification() throws IOException {
    c.put("base.vdi", base().build());
    c.create("child.vdi", Map.of("backing_file", "base.vdi"));
    UUID newModify;
    try (BlockDevice d = c.registry.open(c.path("child.vdi"),
        c.params(false, Map.of()).withWritableBacking(true))) {
      BlockDevice parent = d.backing().orElseThrow();
      parent.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      d.flush();
      newModify = ((VdiImage) parent).modificationUuid();
      assertFalse(newModify.equals(BASE_MOD), "the parent got a new modification UUID");
    }
    assertEquals(newModify, Chains.modifyUuid(c.get("base.vdi")));
    assertEquals(newModify, Chains.parentModifyUuid(c.get("child.vdi")));
    c.open("child.vdi", true).close();
    assertTrue(c.warnings.isEmpty(), c.warnings.toString());
  }

  @Test
  void aUserNamedBackingWinsWithAWarningWhenItsUuidDiffers() throws IOException {
    c.put("base.vdi", base().build());
    VdiBytes other = base();
    other.create = UUID.randomUUID();
    other.physical = p -> VdiBytes.pattern(70 + p, MB);
    c.put("other.vdi", other.build());
    c.put("child.vdi", child(4, TOP, BASE, BASE_MOD).build());
    byte[] otherContent = new byte[4 * MB];
    for (int i = 0; i < 4; i++) {
      System.arraycopy(VdiBytes.pattern(70 + i, MB), 0, otherContent, i * MB, MB);
    }
    try (BlockDevice d = c.open("child.vdi", true,
        Map.of("backing.file.filename", c.path("other.vdi")))) {
      assertArrayEquals(expectedChild(otherContent), Chains.readAll(d));
      assertEquals("base.vdi", d.info().backing().filename(), "info names the recorded parent");
    }
    assertTrue(c.warnings.stream().anyMatch(w -> w.contains(BASE.toString())), c.warnings
        .toString());
    c.put("disk.raw", new byte[4 * MB]);
    Exception e = assertThrows(Exception.class, () -> c.open("child.vdi", true,
        Map.of("backing.file.filename", c.path("disk.raw"), "backing.driver", "raw")));
    assertInstanceOf(IOException.class, e);
    assertTrue(e.getMessage().contains("must be a VDI image"), e.getMessage());
  }
}
