package io.blockkit.raw;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.DriverFeature;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.OutOfRangeException;
import io.blockkit.api.error.ProbedRawWriteException;
import io.blockkit.api.options.Options;
import io.blockkit.file.FileDriver;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RawDriverTest {
  private static final long VDI_SIGNATURE = 0xbeda107fL;
  private final RawDriver raw = new RawDriver();
  @TempDir Path dir;

  /** Stands in for the VDI driver: claims any image with the VDI signature at 0x40. */
  static final class FakeVdiDriver implements BlockDriver {
    @Override
    public String name() {
      return "fakevdi";
    }

    @Override
    public DriverKind kind() {
      return DriverKind.FORMAT;
    }

    @Override
    public String description() {
      return "test stand-in for vdi";
    }

    @Override
    public Set<DriverFeature> features() {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
    }

    @Override
    public int probe(ProbeInput input) {
      return input.u32le(0x40) == VDI_SIGNATURE ? PROBE_EXACT : 0;
    }

    @Override
    public BlockDevice open(OpenRequest request) {
      throw new UnsupportedOperationException("probe only");
    }
  }

  private static byte[] vdiLookingSector() {
    ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
    b.put("<<< Oracle VM VirtualBox Disk Image >>>\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    b.putInt(0x40, (int) VDI_SIGNATURE);
    return b.array();
  }

  private BlockRegistry registry() throws IOException {
    return BlockRegistry.of(new FileDriver(), new MemoryDriver(), raw, new FakeVdiDriver());
  }

  private String memoryImage(long size) throws IOException {
    String name = "raw-" + UUID.randomUUID();
    new MemoryDriver().create(new CreateRequest(name, null,
        Options.parse("size=" + size, new MemoryDriver().createOptions())));
    return "memory:" + name;
  }

  /** qemu-img measure -O raw: the virtual size, required and fully allocated alike. */
  @Test
  void measureIsTheVirtualSizeWhateverTheImageHolds() throws IOException {
    Options sized = Options.of(Map.of("size", "3M"), raw.createOptions());
    assertEquals(new io.blockkit.api.Measurement(3 << 20, 3 << 20), raw.measure(sized, null));
    String image = memoryImage(1 << 20); // sparse: nothing written
    try (BlockDevice d = registry().open(image, OpenParams.readOnlyDefaults().withFormat("raw"))) {
      Options none = Options.of(Map.of(), raw.createOptions());
      assertEquals(new io.blockkit.api.Measurement(1 << 20, 1 << 20), raw.measure(none, d));
      assertThrows(InvalidOptionException.class, () -> raw.measure(none, null));
    }
    assertTrue(raw.features().contains(DriverFeature.MEASURE));
  }

  @Test
  void probeIsTheLastResortForAnything() {
    Random r = new Random(7);
    for (int n : new int[] {0, 1, 511, 4096}) {
      byte[] bytes = new byte[n];
      r.nextBytes(bytes);
      assertEquals(1, raw.probe(new ProbeInput(ByteBuffer.wrap(bytes), n, "x")));
    }
    assertEquals(1, raw.probe(new ProbeInput(ByteBuffer.wrap(vdiLookingSector()), 512, "x.vdi")));
  }

  @Test
  void probedRawRefusesAWriteThatWouldLookLikeAnotherFormat() throws IOException {
    String image = memoryImage(1 << 20);
    List<String> warnings = new ArrayList<>();
    try (BlockDevice d = registry().open(image, OpenParams.defaults()
        .withWarnings(warnings::add))) {
      assertEquals("raw", d.driver().name());
      assertTrue(warnings.stream().anyMatch(w -> w.contains("probing guessed raw")), warnings
          .toString());
      ProbedRawWriteException e = assertThrows(ProbedRawWriteException.class,
          () -> d.write(0, ByteBuffer.wrap(vdiLookingSector())));
      assertEquals("fakevdi", e.wouldBecome());
      assertTrue(e.getMessage().contains("fakevdi") && e.getMessage().contains(image),
          e.getMessage());
      // the signature alone, written where it matters, is refused too
      ByteBuffer sig = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
          .putInt((int) VDI_SIGNATURE).flip();
      assertThrows(ProbedRawWriteException.class, () -> d.write(0x40, sig));
      assertArrayEquals(new byte[512], read(d, 0, 512), "refused writes change nothing");
      // harmless writes to sector 0 and the signature anywhere else are fine
      d.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      d.write(4096 + 0x40, ByteBuffer.wrap(vdiLookingSector(), 0x40, 4));
      assertEquals(1, read(d, 0, 1)[0]);
    }
  }

  @Test
  void guardSeesExistingBytesAroundTheWrite() throws IOException {
    String image = memoryImage(1 << 20);
    byte[] sector = vdiLookingSector();
    try (BlockDevice d = registry().open(image, OpenParams.defaults().withWarnings(w -> { }))) {
      // two halves of the signature, each harmless alone, together make the magic
      d.write(0x40, ByteBuffer.wrap(sector, 0x40, 2));
      assertThrows(ProbedRawWriteException.class,
          () -> d.write(0x42, ByteBuffer.wrap(sector, 0x42, 2)));
    }
  }

  @Test
  void namedRawHasNoRestriction() throws IOException {
    String image = memoryImage(1 << 20);
    try (BlockDevice d = registry().open(image, OpenParams.defaults().withFormat("raw"))) {
      d.write(0, ByteBuffer.wrap(vdiLookingSector()));
      assertArrayEquals(vdiLookingSector(), read(d, 0, 512));
    }
    try (BlockDevice plain = new MemoryDriver().open(OpenRequest.of(image.substring(7), null,
        true))) {
      assertEquals("fakevdi", registry().probe(BlockRegistry.probeInput(plain, "x")).winner(),
          "the written header makes the image probe as the other format");
    }
  }

  @Test
  void passesEverythingToTheChild() throws IOException {
    Path p = dir.resolve("x.raw");
    BlockRegistry reg = registry();
    reg.create(p.toString(), "raw", Map.of("size", "3M"));
    try (BlockDevice d = reg.open(p.toString(), OpenParams.defaults().withFormat("raw"))) {
      BlockDevice child = d.child().orElseThrow();
      assertEquals(3 << 20, d.size());
      assertEquals(Set.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
          Capability.BLOCK_STATUS, Capability.FLUSH, Capability.RESIZE), d.capabilities());
      d.write(1 << 20, ByteBuffer.wrap(new byte[] {1}));
      Extent zero = d.blockStatus(0, d.size());
      assertTrue(zero.zero() && zero.length() == 1 << 20, zero.toString());
      Extent data = d.blockStatus(1 << 20, 4096);
      assertTrue(data.data());
      assertEquals(1 << 20, data.hostOffset());
      assertSame(child, data.host());
      assertEquals(child.allocatedSize(), d.allocatedSize());
      ImageInfo info = d.info();
      assertEquals("raw", info.format());
      assertEquals(0, info.clusterSize());
      assertEquals(3 << 20, info.virtualSize());
      assertThrows(OutOfRangeException.class,
          () -> d.write(d.size(), ByteBuffer.wrap(new byte[] {1})), "raw does not grow");
      d.truncate(5 << 20);
      assertEquals(5 << 20, child.size());
    }
  }

  @Test
  void createSetsTheChildLengthAndPreallocates() throws IOException {
    BlockRegistry reg = registry();
    Path sparse = dir.resolve("s.raw");
    Path full = dir.resolve("f.raw");
    reg.create(sparse.toString(), "raw", Map.of("size", "4M"));
    reg.create(full.toString(), "raw", Map.of("size", "4M", "preallocation", "full"));
    try (BlockDevice s = reg.open(sparse.toString(), OpenParams.readOnlyDefaults());
        BlockDevice f = reg.open(full.toString(), OpenParams.readOnlyDefaults())) {
      assertEquals(4 << 20, s.size());
      assertEquals(4 << 20, f.size());
      assertTrue(s.allocatedSize() < 1 << 20, "sparse: " + s.allocatedSize());
      assertTrue(f.allocatedSize() >= 4 << 20, "full: " + f.allocatedSize());
    }
  }

  @Test
  void createNeedsASize() throws IOException {
    Path p = dir.resolve("nosize.raw");
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> registry().create(p.toString(), "raw", Map.of()));
    assertTrue(e.getMessage().contains("size"), e.getMessage());
    assertTrue(!p.toFile().exists(), "failed create leaves no file behind");
  }

  @Test
  void openWithoutChildIsAnOptionError() {
    assertThrows(InvalidOptionException.class, () -> raw.open(OpenRequest.of("x", null, true)));
  }

  @Test
  void serviceLoaderFindsAllThreeDrivers() throws IOException {
    BlockRegistry reg = BlockRegistry.load(RawDriverTest.class.getClassLoader());
    assertEquals(DriverKind.PROTOCOL, reg.driver("file").kind());
    assertEquals(DriverKind.PROTOCOL, reg.driver("memory").kind());
    assertEquals(DriverKind.FORMAT, reg.driver("raw").kind());
  }

  private static byte[] read(BlockDevice d, long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    d.read(offset, b);
    return b.array();
  }
}
