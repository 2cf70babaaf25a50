package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Measurement;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Amend ({@code uuid}, {@code parent_uuid}, {@code comment}, as VBoxManage's sethduuid and
 * sethdparentuuid), a new parent (rebase), and measure, checked against the header bytes the
 * format reference places them at.
 */
class VdiIdentityTest {
  private static final int MB = 1 << 20;

  @TempDir Path dir;

  private static Options amend(Map<String, String> o) throws InvalidOptionException {
    return Options.of(o, TestSupport.DRIVER.amendOptions());
  }

  @Test
  void amendWritesTheUuidsAndTheCommentAndNothingElse() throws IOException {
    MemDevice file = TestSupport.create(Map.of("size", "4M"));
    try (VdiImage img = TestSupport.open(file, false)) {
      TestSupport.write(img, MB, VdiBytes.pattern(1, MB));
    }
    byte[] before = file.bytes();
    UUID id = UUID.fromString("12345678-9abc-4def-8123-456789abcdef");
    UUID parent = UUID.fromString("fedcba98-7654-4321-8fed-cba987654321");
    MemDevice amended = new MemDevice(before);
    try (VdiImage img = TestSupport.open(amended, false)) {
      img.amend(amend(Map.of("uuid", id.toString(), "parent_uuid", parent.toString(),
          "comment", "a disk ✓")));
      byte[] after = amended.bytes();
      assertEquals(id, Chains.imageUuid(after));
      assertEquals(parent, Chains.parentUuid(after));
      assertEquals("a disk ✓", new String(after, 84, "a disk ✓".getBytes().length,
          java.nio.charset.StandardCharsets.UTF_8));
      assertEquals(0, after[84 + "a disk ✓".getBytes().length], "NUL-terminated");
      assertNotEquals(Chains.modifyUuid(before), Chains.modifyUuid(after),
          "an amend is a modification");
      for (int i = 0; i < after.length; i++) {
        boolean header = i >= 84 && i < 84 + 256 || i >= 392 && i < 440;
        if (!header && before[i] != after[i]) {
          throw new AssertionError("byte " + i + " changed outside the amended fields");
        }
      }
      assertEquals("dynamic", img.info().formatSpecific().get("type"), "the type field stays");
    }
    // With a parent UUID, VirtualBox (and so this driver) reads the image as differencing: its
    // FREE blocks need the parent, which is not there.
    io.blockkit.api.error.BackingChainException e = assertThrows(
        io.blockkit.api.error.BackingChainException.class,
        () -> TestSupport.open(amended.bytes(), true));
    assertTrue(e.getMessage().contains(parent.toString()), e.getMessage());
  }

  @Test
  void amendRefusesWhatVirtualBoxWouldNotStore() throws IOException {
    try (VdiImage img = TestSupport.open(TestSupport.create(Map.of("size", "1M")), false)) {
      assertThrows(InvalidOptionException.class,
          () -> img.amend(amend(Map.of("uuid", "00000000-0000-0000-0000-000000000000"))));
      assertThrows(InvalidOptionException.class, () -> img.amend(amend(
          Map.of("parent_uuid", "00000000-0000-0000-0000-000000000000"))));
      assertThrows(InvalidOptionException.class,
          () -> img.amend(amend(Map.of("comment", "x".repeat(256)))));
    }
    try (VdiImage img = TestSupport.open(TestSupport.create(Map.of("size", "1M",
        "static", "on")), false)) {
      assertThrows(UnsupportedFeatureException.class,
          () -> img.amend(amend(Map.of("parent_uuid", UUID.randomUUID().toString()))));
    }
    VdiBytes v0 = VdiBytes.dynamic(MB, MB);
    v0.version = 2;
    try (VdiImage img = TestSupport.open(v0.build(), false)) {
      assertThrows(UnsupportedFeatureException.class,
          () -> img.amend(amend(Map.of("comment", "x"))));
    }
    try (VdiImage img = TestSupport.open(TestSupport.create(Map.of("size", "1M")), true)) {
      assertThrows(io.blockkit.api.error.ReadOnlyException.class,
          () -> img.amend(amend(Map.of("comment", "x"))));
    }
  }

  /**
   * Rebase onto another VDI: the parent UUIDs come from the new parent; a base image that gets
   * a parent keeps reading zeros where it had nothing (FREE becomes ZERO); dropping the parent
   * makes a dynamic image again.
   */
  @Test
  void aNewParentRecordsItsUuidsAndKeepsTheContent() throws IOException {
    Chains c = new Chains(dir);
    c.create("a.vdi", Map.of("size", "2M"));
    c.create("b.vdi", Map.of("size", "2M"));
    try (BlockDevice b = c.open("b.vdi", false)) {
      b.write(0, ByteBuffer.wrap(VdiBytes.pattern(5, 2 * MB)));
    }
    c.create("top.vdi", Map.of("size", "2M"));
    byte[] mine = VdiBytes.pattern(9, 1000);
    try (BlockDevice top = c.open("top.vdi", false)) {
      top.write(MB, ByteBuffer.wrap(mine));
      byte[] before = Chains.readAll(top);
      BlockDevice b = c.open("b.vdi", true);
      top.changeBacking(new BackingLink("b.vdi", c.path("b.vdi"), "vdi"), b);
      assertArrayEquals(before, Chains.readAll(top), "a base getting a parent reads the same");
      assertEquals("b.vdi", top.info().backing().filename());
    }
    byte[] b = c.get("b.vdi");
    byte[] f = c.get("top.vdi");
    assertEquals(4, Chains.intAt(f, 76), "now a differencing image");
    assertEquals(Chains.imageUuid(b), Chains.parentUuid(f));
    assertEquals(Chains.modifyUuid(b), Chains.parentModifyUuid(f));
    assertEquals(BlockMap.ZERO, Chains.entry(f, 0), "FREE became ZERO: zeros, as before");
    try (BlockDevice top = c.open("top.vdi", false)) {
      assertEquals("b.vdi", top.info().backing().filename(), "found by UUID");
      BlockDevice a = c.open("a.vdi", true);
      // unsafe rebase onto a: FREE blocks (none now) would read a; block 0 stays zeros
      top.changeBacking(new BackingLink("a.vdi", c.path("a.vdi"), "vdi"), a);
      assertThrows(InvalidOptionException.class,
          () -> top.changeBacking(new BackingLink("x", "x", "vdi"), null));
      top.changeBacking(null, null);
      assertNull(top.info().backing());
      byte[] expected = new byte[2 * MB];
      System.arraycopy(mine, 0, expected, MB, mine.length);
      assertArrayEquals(expected, Chains.readAll(top));
    }
    f = c.get("top.vdi");
    assertEquals(1, Chains.intAt(f, 76), "a dynamic image again");
    assertEquals(new UUID(0, 0), Chains.parentUuid(f));
    c.put("disk.raw", new byte[2 * MB]);
    try (BlockDevice top = c.open("top.vdi", false);
        BlockDevice raw = c.registry.open(c.path("disk.raw"),
            io.blockkit.registry.OpenParams.defaults().withFormat("raw").withReadOnly(true))) {
      InvalidOptionException e = assertThrows(InvalidOptionException.class,
          () -> top.changeBacking(new BackingLink("disk.raw", c.path("disk.raw"), "raw"), raw));
      assertTrue(e.getMessage().contains("VDI parent"), e.getMessage());
    }
  }

  @Test
  void measureFollowsTheLayoutCreateWrites() throws IOException {
    VdiDriver d = TestSupport.DRIVER;
    Options o = Options.of(Map.of("size", "64M"), d.createOptions());
    Measurement empty = d.measure(o, null);
    MemDevice made = TestSupport.create(Map.of("size", "64M"));
    assertEquals(made.size(), empty.required(), "a new dynamic image is header and map");
    assertEquals(made.size() + 64L * MB, empty.fullyAllocated());
    MemDevice fixed = TestSupport.create(Map.of("size", "64M", "static", "on"));
    Measurement f = d.measure(Options.of(Map.of("size", "64M", "static", "on"),
        d.createOptions()), null);
    assertEquals(fixed.size(), f.required());
    try (VdiImage src = TestSupport.open(TestSupport.create(Map.of("size", "8M")), false)) {
      TestSupport.write(src, 10, new byte[] {1});
      TestSupport.write(src, 5L * MB - 1, new byte[] {1, 1});
      TestSupport.write(src, 7L * MB, new byte[MB]); // zeros: never allocated
      Measurement m = d.measure(Options.of(Map.of(), d.createOptions()), src);
      // a copy made with convert holds exactly the blocks with data: 0, 4 and 5
      MemDevice copy = TestSupport.create(Map.of("size", "8M"));
      try (VdiImage dst = TestSupport.open(copy, false)) {
        byte[] all = TestSupport.read(src, 0, 8 * MB);
        TestSupport.write(dst, 0, all);
      }
      assertEquals(copy.bytes().length, m.required());
      assertEquals(4096 + 3L * MB, m.required());
      assertEquals(4096 + 8L * MB, m.fullyAllocated());
    }
    assertTrue(Arrays.asList(d.features().toArray()).contains(
        io.blockkit.api.DriverFeature.MEASURE));
  }
}
