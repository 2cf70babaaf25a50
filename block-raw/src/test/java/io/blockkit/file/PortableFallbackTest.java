package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageLockedException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file driver without JNA (non-Linux, or no libc): every feature falls back portably. */
class PortableFallbackTest {
  private final FileDriver portable = new FileDriver(false);
  @TempDir Path dir;

  private Path create(String options) throws IOException {
    Path p = dir.resolve("p.img");
    portable.create(new CreateRequest(p.toString(), null,
        Options.parse(options, portable.createOptions())));
    return p;
  }

  @Test
  void everythingIsDataAndNothingIsClaimed() throws IOException {
    Path p = create("size=1M");
    try (BlockDevice d = portable.open(OpenRequest.of(p.toString(), null, false))) {
      assertFalse(d.capabilities().contains(Capability.BLOCK_STATUS));
      assertFalse(d.capabilities().contains(Capability.DISCARD));
      assertFalse(d.capabilities().contains(Capability.WRITE_ZEROES));
      assertTrue(d.capabilities().containsAll(
          java.util.Set.of(Capability.WRITE, Capability.GROW, Capability.RESIZE)));
      Extent e = d.blockStatus(0, d.size());
      assertEquals(Extent.data(0, 1 << 20, 0, d), e);
      assertEquals(1 << 20, d.allocatedSize(), "without fstat the length is reported");
    }
  }

  @Test
  void writeZeroesWritesAndGrowthStillWorks() throws IOException {
    Path p = create("size=64k");
    byte[] ones = new byte[65536];
    Arrays.fill(ones, (byte) 1);
    try (BlockDevice d = portable.open(OpenRequest.of(p.toString(), null, false))) {
      d.write(0, ByteBuffer.wrap(ones));
      d.writeZeroes(100, 1000);
      d.discard(5000, 100);
      d.truncate(200_000);
      byte[] back = new byte[200_000];
      d.read(0, ByteBuffer.wrap(back));
      byte[] expected = new byte[200_000];
      System.arraycopy(ones, 0, expected, 0, 65536);
      Arrays.fill(expected, 100, 1100, (byte) 0);
      assertArrayEquals(expected, back);
      assertEquals(200_000, Files.size(p));
    }
  }

  @Test
  void locksStillConflict() throws IOException {
    Path p = create("size=4k");
    try (BlockDevice w = portable.open(OpenRequest.of(p.toString(), null, false))) {
      assertThrows(ImageLockedException.class,
          () -> portable.open(OpenRequest.of(p.toString(), null, false)));
      assertThrows(ImageLockedException.class,
          () -> portable.open(OpenRequest.of(p.toString(), null, true)));
    }
  }
}
