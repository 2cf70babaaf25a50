package io.blockkit.verify.plugin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A format driver found only through this module's test {@code META-INF/services} is discovered,
 * probed and opened by the unchanged core, over the memory and file protocols.
 */
class PluginDiscoveryTest {
  private final List<String> warnings = new ArrayList<>();

  private OpenParams params() {
    return OpenParams.defaults().withWarnings(warnings::add);
  }

  @Test
  void serviceLoaderFindsThePluginNextToTheBuiltInDrivers() throws Exception {
    BlockRegistry r = BlockRegistry.load();
    BlockDriver toy = r.driver(ToyFormatDriver.NAME);
    assertInstanceOf(ToyFormatDriver.class, toy);
    assertEquals(DriverKind.FORMAT, toy.kind());
    for (String builtIn : List.of("file", "memory", "raw")) {
      assertTrue(r.find(builtIn).isPresent(), builtIn + " missing from " + r.drivers());
    }
  }

  private static void roundTrip(BlockRegistry r, String location, OpenParams params)
      throws Exception {
    r.create(location, ToyFormatDriver.NAME, Map.of("size", "1M"));
    byte[] pattern = new byte[3000];
    new java.util.Random(7).nextBytes(pattern);
    try (BlockDevice d = r.open(location, params)) {
      assertEquals(ToyFormatDriver.NAME, d.driver().name());
      assertEquals(1 << 20, d.size());
      d.write((1 << 20) - pattern.length, ByteBuffer.wrap(pattern));
      d.flush();
    }
    try (BlockDevice d = r.open(location, params.withReadOnly(true))) {
      assertEquals(ToyFormatDriver.NAME, d.driver().name());
      ByteBuffer back = ByteBuffer.allocate(pattern.length);
      d.read((1 << 20) - pattern.length, back);
      assertArrayEquals(pattern, back.array());
      ByteBuffer head = ByteBuffer.allocate(100);
      d.read(0, head);
      assertArrayEquals(new byte[100], head.array());
      assertEquals("toyfmt", d.info().format());
    }
  }

  @Test
  void probedAndOpenedOverMemory() throws Exception {
    roundTrip(BlockRegistry.load(), "memory:toy-" + UUID.randomUUID(), params());
    assertTrue(warnings.isEmpty(), warnings.toString());
  }

  @Test
  void probedAndOpenedOverAFile(@TempDir Path dir) throws Exception {
    Path image = dir.resolve("disk.toy");
    roundTrip(BlockRegistry.load(), image.toString(), params());
    byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(image), 8);
    assertArrayEquals(ToyFormatDriver.MAGIC, head);
    assertTrue(warnings.isEmpty(), warnings.toString());
  }

  @Test
  void stacksOverBlkdebugLikeABuiltInFormat() throws Exception {
    BlockRegistry r = BlockRegistry.load();
    String name = "toy-" + UUID.randomUUID();
    r.create("memory:" + name, ToyFormatDriver.NAME, Map.of("size", "4k"));
    try (BlockDevice d = r.open(Map.of("file.driver", "blkdebug",
        "file.file.filename", "memory:" + name), params())) {
      assertEquals(ToyFormatDriver.NAME, d.driver().name());
      assertEquals("blkdebug", d.child().orElseThrow().driver().name());
    }
  }

  @Test
  void aFileWithoutTheMagicIsNotClaimedByThePlugin() throws Exception {
    BlockRegistry r = BlockRegistry.load();
    String name = "memory:plain-" + UUID.randomUUID();
    r.create(name, "raw", Map.of("size", "4k"));
    try (BlockDevice d = r.open(name, params().withReadOnly(true))) {
      assertEquals("raw", d.driver().name());
    }
  }
}
