package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One hand-made image per header rule of VirtualBox's vdiValidateHeader and QEMU's vdi_open
 * (including iotest 084's pokes), each with the error it must give.
 */
class VdiHeaderValidationTest {

  private static VdiBytes base() {
    VdiBytes v = VdiBytes.dynamic(4L << 20, 1 << 20);
    v.allocate(1, 0);
    return v;
  }

  /** Raw pokes after building, for fields the builder derives. */
  private static byte[] poke(byte[] image, int offset, long value, int width) {
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    if (width == 8) {
      b.putLong(offset, value);
    } else {
      b.putInt(offset, (int) value);
    }
    return image;
  }

  static Arguments bad(String name, Consumer<VdiBytes> change, Class<?> error, String... words) {
    return Arguments.of(name, change, error, words);
  }

  static Stream<Arguments> brokenHeaders() {
    Class<?> corrupt = CorruptImageException.class;
    Class<?> unsupported = UnsupportedFeatureException.class;
    return Stream.of(
        bad("version 2.0", v -> v.version = 0x00020000, unsupported, "version 2.0"),
        // VirtualBox opens version 0 only as 0x00000002 (0.2).
        bad("version 0.1", v -> v.version = 0x00000001, unsupported, "version 0.1"),
        bad("version 0.0", v -> v.version = 0x00000000, unsupported, "version 0.0"),
        bad("version 0.3", v -> v.version = 0x00000003, unsupported, "version 0.3"),
        bad("header size 383", v -> v.headerSize = 383, corrupt, "header.header_size", "383",
            "384"),
        bad("type 0", v -> v.type = 0, corrupt, "header.image_type", "is 0"),
        bad("type 5", v -> v.type = 5, corrupt, "header.image_type", "is 5"),
        bad("unknown flag", v -> v.flags = 0x4, corrupt, "header.image_flags", "0x00000004"),
        bad("LCHS sector size 0", v -> v.lchsSectorSize = 0, corrupt, "lchs", "512"),
        bad("block size 0", v -> v.blockSize = 0, corrupt, "header.block_size", "is 0"),
        bad("084: block size 1048575", v -> v.blockSize = 0x0fffff, corrupt, "header.block_size",
            "1048575", "power of two"),
        bad("084: block size 1114112", v -> v.blockSize = 0x110000, corrupt, "header.block_size",
            "1114112", "power of two"),
        bad("block size 256", v -> {
          v.blockSize = 256;
          v.blocks = 16384;
          v.map = new int[16384];
          Arrays.fill(v.map, -1);
          v.physicalBlocks = 0;
          v.blocksAllocated = 0;
        }, unsupported, "block_size", "256"),
        bad("block size 256 MiB", v -> {
          v.blockSize = 256 << 20;
          v.blocks = 1;
          v.map = new int[] {-1};
          v.physicalBlocks = 0;
          v.blocksAllocated = 0;
        }, unsupported, "block_size", "268435456"),
        bad("block extra 3", v -> v.blockExtra = 3, corrupt, "header.block_extra", "3"),
        bad("zero blocks for a non-zero size", v -> {
          v.blocks = 0;
          v.blocksAllocated = 0;
        }, corrupt, "header.disk_size", "4194304", "blocks_in_image x block_size = 0"),
        bad("084: too many blocks", v -> v.blocks = 0x1fffff81, unsupported, "blocks_in_image",
            "536870785", "536870784"),
        bad("blocks_allocated > blocks", v -> v.blocksAllocated = 5, corrupt,
            "header.blocks_allocated", "5", "at most blocks_in_image (4)"),
        bad("084: disk 64M with 63 blocks", v -> {
          v.diskSize = 64L << 20;
          v.blocks = 63;
          v.map = Arrays.copyOf(v.map, 63);
          Arrays.fill(v.map, 4, 63, -1);
        }, corrupt, "header.disk_size", "67108864", "66060288"),
        bad("084: disk size past QEMU's maximum", v -> v.diskSize = 0x1fffff8010000L, unsupported,
            "disk_size", "562949819269120", "562949819203584"),
        bad("null image UUID", v -> v.create = new UUID(0, 0), corrupt, "header.uuid_create",
            "null"),
        bad("null modification UUID", v -> v.modify = new UUID(0, 0), corrupt,
            "header.uuid_modify", "null"),
        bad("map inside the header", v -> v.mapOffset = 400, corrupt, "header.offset_bmap", "400",
            "472"),
        bad("map inside a 384-byte header", v -> {
          v.headerSize = 384;
          v.mapOffset = 452;
        }, corrupt, "header.offset_bmap", "452", "456"),
        bad("data overlapping the map", v -> v.dataOffset = 520, corrupt, "header.offset_data",
            "520", "528"),
        bad("084 test 1: map far past the end of a small file", v -> {
          v.diskSize = 0x1fffff8000000L;
          v.blocks = 0x1fffff80;
          v.map = new int[4];
          Arrays.fill(v.map, -1);
          v.physicalBlocks = 0;
          v.blocksAllocated = 0;
          v.dataOffset = 512 + 4L * 0x1fffff80;
        }, corrupt, "block map", "past the end of the file"),
        bad("differencing image with FREE blocks", v -> {
          v.type = 4;
          v.linkage = UUID.fromString("11111111-2222-3333-4444-555555555555");
        }, io.blockkit.api.error.BackingChainException.class, "differencing",
            "{11111111-2222-3333-4444-555555555555}", "parent_search"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenHeaders")
  void brokenHeaderGivesItsSpecificError(String name, Consumer<VdiBytes> change, Class<?> error,
      String[] words) {
    VdiBytes v = base();
    change.accept(v);
    byte[] image = v.build();
    Exception e = assertThrows(Exception.class, () -> TestSupport.open(image, true).close());
    assertInstanceOf(error, e, () -> name + ": " + e);
    for (String w : words) {
      assertTrue(e.getMessage().contains(w), name + ": '" + w + "' missing in: " + e.getMessage());
    }
    assertTrue(e.getMessage().contains("test.vdi"), e.getMessage());
  }

  @Test
  void badSignatureIsCorruptAndDoesNotProbe() {
    byte[] image = poke(base().build(), 0x40, 0xbeda107eL, 4);
    CorruptImageException e = assertThrows(CorruptImageException.class,
        () -> TestSupport.open(image, true));
    assertTrue(e.getMessage().contains("0xbeda107e"), e.getMessage());
    assertEquals(0, TestSupport.DRIVER.probe(new ProbeInput(ByteBuffer.wrap(image), image.length,
        "x.vdi")));
  }

  @Test
  void probeIgnoresTheBannerAndNeedsAWholeSector() {
    byte[] image = base().build();
    Arrays.fill(image, 0, 64, (byte) 'x');
    assertEquals(100, TestSupport.DRIVER.probe(new ProbeInput(ByteBuffer.wrap(image, 0, 512)
        .slice(), image.length, "")));
    for (int n : new int[] {0, 1, 0x43, 0x44, 72, 511}) {
      assertEquals(0, TestSupport.DRIVER.probe(new ProbeInput(ByteBuffer.wrap(image, 0, n).slice(),
          n, "disk.vdi")), n + " bytes");
    }
    byte[] banner = new byte[4096];
    byte[] text = "<<< Oracle VM VirtualBox Disk Image >>>\n".getBytes();
    System.arraycopy(text, 0, banner, 0, text.length);
    assertEquals(0, TestSupport.DRIVER.probe(new ProbeInput(ByteBuffer.wrap(banner), 4096,
        "disk.vdi")));
  }

  @Test
  void shortFilesAreCorruptNotCrashes() {
    byte[] image = base().build();
    for (int n : new int[] {0, 50, 100, 455}) {
      byte[] cut = Arrays.copyOf(image, n);
      CorruptImageException e = assertThrows(CorruptImageException.class,
          () -> TestSupport.open(cut, true), n + " bytes");
      assertTrue(e.getMessage().contains(n + " bytes"), e.getMessage());
    }
  }

  @Test
  void hugeBlockCountInATinyFileIsRejectedWithoutAllocating() {
    VdiBytes v = base();
    byte[] image = Arrays.copyOf(v.build(), 1024);
    poke(image, 384, 0x1fffff80L, 4);
    poke(image, 368, 0x1fffff8000000L, 8);
    poke(image, 344, 512 + 4L * 0x1fffff80, 4);
    CorruptImageException e = assertThrows(CorruptImageException.class,
        () -> TestSupport.open(image, false));
    assertTrue(e.getMessage().contains("block map"), e.getMessage());
  }

  /** What only QEMU refuses (VirtualBox opens it) opens here too, with a warning naming it. */
  @Test
  void qemuOnlyRulesAreWarnings() throws Exception {
    VdiBytes v = base();
    byte[] image = poke(v.build(), 360, 0, 4);
    java.util.List<String> warnings = new java.util.ArrayList<>();
    try (VdiImage img = (VdiImage) TestSupport.DRIVER.open(new io.blockkit.api.OpenRequest(
        "test.vdi", new MemDevice(image), io.blockkit.api.options.Options.empty(), true, false,
        null, warnings::add))) {
      assertEquals(4L << 20, img.size());
    }
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("sector size") && warnings.get(0).contains("of 0"),
        warnings.get(0));

    warnings.clear();
    VdiBytes unaligned = base();
    unaligned.mapOffset = 520;
    try (VdiImage img = (VdiImage) TestSupport.DRIVER.open(new io.blockkit.api.OpenRequest(
        "test.vdi", new MemDevice(unaligned.build()), io.blockkit.api.options.Options.empty(),
        true, false, null, warnings::add))) {
      assertEquals(4L << 20, img.size());
    }
    assertTrue(warnings.get(0).contains("not a multiple of 512 (520"), warnings.toString());
  }
}
