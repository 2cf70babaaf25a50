package io.blockkit.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class MemoryDriverTest {
  private static final int CHUNK = MemoryStore.CHUNK;
  private final MemoryDriver driver = new MemoryDriver();

  private String create(String options) throws IOException {
    String name = "t-" + UUID.randomUUID();
    driver.create(new CreateRequest(name, null, Options.parse(options, driver.createOptions())));
    return name;
  }

  private BlockDevice open(String name, boolean readOnly) throws IOException {
    return driver.open(OpenRequest.of(name, null, readOnly));
  }

  @Test
  void namedStoreIsSharedBetweenOpens() throws IOException {
    String name = create("size=1M");
    try (BlockDevice a = open(name, false)) {
      a.write(1000, ByteBuffer.wrap(new byte[] {1, 2, 3}));
    }
    try (BlockDevice b = open(name, true); BlockDevice c = open(name, false)) {
      byte[] got = new byte[3];
      b.read(1000, ByteBuffer.wrap(got));
      assertArrayEquals(new byte[] {1, 2, 3}, got);
      c.write(1001, ByteBuffer.wrap(new byte[] {9}));
      b.read(1000, ByteBuffer.wrap(got));
      assertArrayEquals(new byte[] {1, 9, 3}, got, "opens see each other's writes");
      assertEquals("memory:" + name, b.location());
    }
  }

  @Test
  void unknownNameIsNotFound() {
    ImageAccessException e = assertThrows(ImageAccessException.class,
        () -> open("never-created-" + UUID.randomUUID(), true));
    assertEquals(Reason.NOT_FOUND, e.reason());
    assertTrue(e.getMessage().contains("memory:never-created-"), e.getMessage());
  }

  @Test
  void deleteForgetsTheStore() throws IOException {
    String name = create("size=4k");
    assertTrue(MemoryDriver.exists(name));
    driver.delete(name);
    assertFalse(MemoryDriver.exists(name));
    assertEquals(Reason.NOT_FOUND,
        assertThrows(ImageAccessException.class, () -> open(name, true)).reason());
    assertEquals(Reason.NOT_FOUND,
        assertThrows(ImageAccessException.class, () -> driver.delete(name)).reason());
  }

  @Test
  void createAgainEmptiesTheStore() throws IOException {
    String name = create("size=64k");
    try (BlockDevice d = open(name, false)) {
      d.write(0, ByteBuffer.wrap(new byte[] {5}));
      driver.create(new CreateRequest(name, null,
          Options.parse("size=128k", driver.createOptions())));
      assertEquals(128 * 1024, d.size(), "an open device sees the re-created store");
      byte[] b = new byte[1];
      d.read(0, ByteBuffer.wrap(b));
      assertEquals(0, b[0]);
    }
  }

  @Test
  void absentChunksAreZeroAndStoredOnesData() throws IOException {
    String name = create("size=1M");
    try (BlockDevice d = open(name, false)) {
      assertEquals(0, d.allocatedSize());
      d.write(3L * CHUNK + 10, ByteBuffer.wrap(new byte[] {1}));
      d.write(4L * CHUNK + 10, ByteBuffer.wrap(new byte[] {1}));
      assertEquals(2L * CHUNK, d.allocatedSize());
      Extent first = d.blockStatus(0, d.size());
      assertEquals(Extent.zero(0, 3L * CHUNK), first);
      Extent data = d.blockStatus(3L * CHUNK, d.size() - 3L * CHUNK);
      assertEquals(Extent.data(3L * CHUNK, 2L * CHUNK, 3L * CHUNK, d), data);
      Extent rest = d.blockStatus(5L * CHUNK, d.size() - 5L * CHUNK);
      assertTrue(rest.zero() && rest.end() == d.size(), rest.toString());
    }
  }

  @Test
  void zerosNeverAllocate() throws IOException {
    String name = create("size=1M");
    try (BlockDevice d = open(name, false)) {
      d.write(0, ByteBuffer.wrap(new byte[300_000]));
      assertEquals(0, d.allocatedSize());
      d.write(0, ByteBuffer.wrap(new byte[] {1}));
      d.writeZeroes(0, d.size());
      assertEquals(0, d.allocatedSize(), "writeZeroes over whole chunks drops them");
      d.write(0, ByteBuffer.wrap(new byte[] {1, 1}));
      d.discard(1, 1);
      byte[] b = new byte[2];
      d.read(0, ByteBuffer.wrap(b));
      assertArrayEquals(new byte[] {1, 0}, b, "partial discard zeroes the bytes");
    }
  }

  @Test
  void preallocationFullStoresEveryChunk() throws IOException {
    String name = create("size=1M,preallocation=full");
    try (BlockDevice d = open(name, true)) {
      assertEquals(1 << 20, d.allocatedSize());
      assertTrue(d.blockStatus(0, d.size()).data());
    }
  }

  @Test
  void shrinkingDropsBytesThatGrowingBringsBackAsZeros() throws IOException {
    String name = create("size=256k");
    byte[] ones = new byte[256 * 1024];
    Arrays.fill(ones, (byte) 1);
    try (BlockDevice d = open(name, false)) {
      d.write(0, ByteBuffer.wrap(ones));
      d.truncate(CHUNK + 7);
      assertEquals(2L * CHUNK, d.allocatedSize());
      d.truncate(256 * 1024);
      byte[] back = new byte[256 * 1024];
      d.read(0, ByteBuffer.wrap(back));
      byte[] expected = new byte[256 * 1024];
      Arrays.fill(expected, 0, CHUNK + 7, (byte) 1);
      assertArrayEquals(expected, back);
    }
  }

  @Test
  void writesPastTheEndGrow() throws IOException {
    String name = create("size=0");
    try (BlockDevice d = open(name, false)) {
      d.write(100_000, ByteBuffer.wrap(new byte[] {7}));
      assertEquals(100_001, d.size());
      try (BlockDevice other = open(name, true)) {
        assertEquals(100_001, other.size(), "growth is visible to other opens");
      }
    }
  }

  @Test
  void emptyNameIsRefused() {
    assertThrows(io.blockkit.api.error.InvalidOptionException.class,
        () -> driver.create(new CreateRequest("", null, Options.empty())));
  }
}
