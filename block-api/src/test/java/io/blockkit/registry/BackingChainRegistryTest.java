package io.blockkit.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.BackingChainException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.FakeDrivers.LinkFormat;
import io.blockkit.registry.FakeDrivers.MemProtocol;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Backing chains through the registry: resolution, overrides, loops, errors and features. */
class BackingChainRegistryTest {
  private MemProtocol file;
  private MemProtocol mem;
  private LinkFormat link;
  private FakeDrivers.Raw raw;
  private BlockRegistry registry;
  private final List<String> warnings = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    file = new MemProtocol("file");
    mem = new MemProtocol("mem");
    link = new LinkFormat();
    raw = new FakeDrivers.Raw();
    registry = BlockRegistry.of(file, mem, link, raw);
  }

  private OpenParams ro() {
    return OpenParams.readOnlyDefaults().withWarnings(warnings::add);
  }

  private static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }

  private static byte[] read(BlockDevice d, long offset, int n) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }

  @Test
  void relativeNamesResolveAgainstTheImagesFolderAndTheChainReadsThrough() throws Exception {
    mem.store.put("vm/disks/base.raw", filled(4096, 7));
    mem.store.put("vm/disks/mid.link", LinkFormat.image("base.raw", "raw"));
    mem.store.put("vm/top.link", LinkFormat.image("disks/mid.link", "link"));
    try (BlockDevice top = registry.open("mem:vm/top.link", ro())) {
      List<BlockDevice> layers = BackingChain.layers(top);
      assertEquals(3, layers.size());
      assertEquals("raw", layers.get(2).driver().name());
      assertArrayEquals(filled(16, 7), read(top, 100, 16));
      // Past the end of the 4 KiB base the chain reads zeros.
      assertArrayEquals(new byte[16], read(top, 8192, 16));
      ImageInfo info = top.info();
      assertEquals("disks/mid.link", info.backing().filename());
      assertEquals("mem:vm/disks/mid.link", info.backing().fullFilename());
      assertEquals("link", info.backing().format());
    }
    assertTrue(warnings.isEmpty(), warnings.toString());
  }

  @Test
  void namesResolveAlsoWhenTheProtocolShowsItsPrefixInLocations() throws Exception {
    mem.showsPrefix = true; // like the memory driver: a device's location is "memory:name"
    mem.store.put("vm/base.raw", filled(512, 6));
    mem.store.put("vm/top.link", LinkFormat.image("base.raw", "raw"));
    try (BlockDevice top = registry.open("mem:vm/top.link", ro())) {
      assertEquals("mem:vm/base.raw", top.info().backing().fullFilename());
      assertArrayEquals(filled(4, 6), read(top, 0, 4));
    }
  }

  @Test
  void plainPathsResolveWithoutAPrefixAndAbsoluteNamesStayAbsolute() throws Exception {
    file.store.put("/abs/base.raw", filled(512, 1));
    file.store.put("dir/child.link", LinkFormat.image("/abs/base.raw", "raw"));
    try (BlockDevice top = registry.open("dir/child.link", ro())) {
      assertEquals("/abs/base.raw", top.info().backing().fullFilename());
      assertArrayEquals(filled(4, 1), read(top, 0, 4));
    }
    file.store.put("dir/rel.link", LinkFormat.image("base.raw", "raw"));
    file.store.put("dir/base.raw", filled(512, 2));
    try (BlockDevice top = registry.open("dir/rel.link", ro())) {
      assertEquals("dir/base.raw", top.info().backing().fullFilename());
      assertArrayEquals(filled(4, 2), read(top, 0, 4));
    }
  }

  @Test
  void aNameWithAProtocolPrefixKeepsItsProtocol() throws Exception {
    file.store.put("elsewhere.raw", filled(512, 3));
    mem.store.put("a/child.link", LinkFormat.image("file:elsewhere.raw", "raw"));
    try (BlockDevice top = registry.open("mem:a/child.link", ro())) {
      assertEquals("file:elsewhere.raw", top.info().backing().fullFilename());
      assertArrayEquals(filled(4, 3), read(top, 0, 4));
    }
  }

  @Test
  void backingNullDropsTheBackingButInfoStillNamesIt() throws Exception {
    mem.store.put("base.raw", filled(512, 7));
    mem.store.put("top.link", LinkFormat.image("base.raw", "raw"));
    try (BlockDevice top = registry.open("mem:top.link",
        ro().withOptions(Map.of("backing", "null")))) {
      assertTrue(top.backing().isEmpty());
      assertArrayEquals(new byte[8], read(top, 0, 8));
      assertEquals("base.raw", top.info().backing().filename());
    }
    assertTrue(link.lastOpen.related().backingOverridden());
    assertThrows(InvalidOptionException.class, () -> registry.open("mem:top.link",
        ro().withOptions(Map.of("backing", "other"))));
  }

  @Test
  void backingOptionsOverrideTheStoredName() throws Exception {
    mem.store.put("base.raw", filled(512, 7));
    mem.store.put("other.raw", filled(512, 9));
    mem.store.put("top.link", LinkFormat.image("base.raw", "raw"));
    try (BlockDevice top = registry.open("mem:top.link",
        ro().withOptions(Map.of("backing.file.filename", "mem:other.raw",
            "backing.driver", "raw")))) {
      assertArrayEquals(filled(4, 9), read(top, 0, 4));
    }
    // backing.filename works too, and the stored format still applies when none is given.
    try (BlockDevice top = registry.open("mem:top.link",
        ro().withOptions(Map.of("backing.filename", "mem:other.raw")))) {
      assertSame(raw, top.backing().orElseThrow().driver());
    }
  }

  @Test
  void aMissingBackingFileNamesTheChain() throws Exception {
    mem.store.put("mid.link", LinkFormat.image("gone.raw", "raw"));
    mem.store.put("top.link", LinkFormat.image("mid.link", "link"));
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> registry.open("mem:top.link", ro()));
    assertEquals(List.of("mem:top.link", "mem:mid.link", "mem:gone.raw"), e.chain());
    assertTrue(e.getMessage().contains("Could not open backing file 'mem:gone.raw' of "
        + "'mem:mid.link'"), e.getMessage());
    assertTrue(e.getMessage().contains("mem:top.link -> mem:mid.link -> mem:gone.raw"),
        e.getMessage());
    assertInstanceOf(ImageAccessException.class, e.getCause());
    assertTrue(mem.opened.stream().allMatch(d -> d.closedFlag), "every opened node was closed");
  }

  @Test
  void loopsAreRefusedNamingTheChain() throws Exception {
    mem.store.put("a.link", LinkFormat.image("b.link", "link"));
    mem.store.put("b.link", LinkFormat.image("a.link", "link"));
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> registry.open("mem:a.link", ro()));
    assertTrue(e.getMessage().contains("chain is a loop"), e.getMessage());
    assertEquals(List.of("mem:a.link", "mem:b.link", "mem:a.link"), e.chain());

    mem.store.put("self.link", LinkFormat.image("self.link", ""));
    assertThrows(BackingChainException.class, () -> registry.open("mem:self.link", ro()));
    assertTrue(mem.opened.stream().allMatch(d -> d.closedFlag));
  }

  @Test
  void aBackingProbedAsRawIsNeverSilent() throws Exception {
    mem.store.put("base.img", filled(512, 4));
    mem.store.put("top.link", LinkFormat.image("base.img", ""));
    try (BlockDevice top = registry.open("mem:top.link", ro())) {
      assertSame(raw, top.backing().orElseThrow().driver());
    }
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("does not record the format of its backing file "
        + "'mem:base.img'; probing guessed raw"), warnings.get(0));
  }

  @Test
  void backingImagesAreReadOnlyUnlessAWritableChainIsAskedFor() throws Exception {
    mem.store.put("base.raw", filled(512, 4));
    mem.store.put("top.link", LinkFormat.image("base.raw", "raw"));
    OpenParams rw = OpenParams.defaults().withWarnings(warnings::add);
    try (BlockDevice top = registry.open("mem:top.link", rw)) {
      assertFalse(top.isReadOnly());
      assertTrue(top.backing().orElseThrow().isReadOnly());
    }
    try (BlockDevice top = registry.open("mem:top.link", rw.withWritableBacking(true))) {
      assertFalse(top.backing().orElseThrow().isReadOnly());
    }
  }

  @Test
  void featuresAreCheckedBeforeOptions() throws Exception {
    mem.store.put("x.raw", filled(512, 0));
    UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
        () -> registry.open("mem:x.raw", ro().withFormat("raw")
            .withOptions(Map.of("backing.filename", "y"))));
    assertTrue(e.getMessage().contains("'raw' does not support backing files"), e.getMessage());
    e = assertThrows(UnsupportedFeatureException.class, () -> registry.create("mem:new.raw",
        "raw", Map.of("size", "1M", "backing_file", "x.raw")));
    assertTrue(e.getMessage().contains("'raw' does not support backing files"), e.getMessage());
    assertFalse(mem.store.containsKey("new.raw"), "nothing was created");
  }

  @Test
  void createOpensTheBackingThroughTheRegistry() throws Exception {
    mem.store.put("d/base.raw", filled(512, 5));
    registry.create("mem:d/new.link", "link", Map.of("backing_file", "base.raw",
        "backing_fmt", "raw"));
    try (BlockDevice top = registry.open("mem:d/new.link", ro())) {
      assertArrayEquals(filled(4, 5), read(top, 0, 4));
    }
    BackingChainException e = assertThrows(BackingChainException.class,
        () -> registry.create("mem:d/bad.link", "link", Map.of("backing_file", "nope.raw")));
    assertTrue(e.getMessage().contains("'mem:d/nope.raw'"), e.getMessage());
    assertFalse(mem.store.containsKey("d/bad.link"), "a failed create leaves nothing");
  }

  @Test
  void listFolderNamesSiblingsInAFormOpenFileTakes() throws Exception {
    mem.store.put("d/a.raw", filled(512, 1));
    mem.store.put("d/b.raw", filled(512, 2));
    mem.store.put("d/sub/c.raw", filled(512, 3));
    mem.store.put("d/top.link", LinkFormat.image("", ""));
    registry.open("mem:d/top.link", ro()).close();
    List<String> names = link.lastOpen.related().listFolder(null);
    assertEquals(List.of("mem:d/a.raw", "mem:d/b.raw", "mem:d/top.link"), names);
    try (BlockDevice f = link.lastOpen.related().openFile(names.get(1), true)) {
      assertArrayEquals(filled(4, 2), read(f, 0, 4));
      assertTrue(f.isReadOnly());
    }
    assertNull(registry.open("mem:d/top.link", ro()).info().backing());
  }
}
