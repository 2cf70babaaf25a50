package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.error.OutOfRangeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Requests past the end fail and change nothing; growth and truncation where claimed. */
abstract class RangeTests extends DeviceGroup {
  RangeTests(BlockDriverConformanceTest subject) {
    super(subject);
  }

  @Test
  public void requestsPastTheEndFailAndChangeNothing() throws IOException {
    BlockDevice d = fresh();
    requireWritable(d);
    byte[] data = randomBytes((int) Math.min(d.size(), 4096));
    writeAll(d, d.size() - data.length, data);
    byte[] before = snapshot(d);
    long size = d.size();
    assertReadsPastTheEndRefused(d);
    assertThrows(OutOfRangeException.class, () -> d.discard(size - 1, 2));
    if (!d.capabilities().contains(Capability.GROW)) {
      assertThrows(OutOfRangeException.class,
          () -> d.write(size - 1, ByteBuffer.wrap(new byte[] {1, 2})));
      assertThrows(OutOfRangeException.class, () -> d.write(size + 512,
          ByteBuffer.wrap(new byte[] {1})));
      assertThrows(OutOfRangeException.class, () -> d.writeZeroes(size - 1, 2));
    }
    assertEquals(size, d.size(), "size after refused requests");
    assertImageEquals(before, d, "after refused requests");
  }

  /** Reads and block status reaching past the end fail with {@link OutOfRangeException}. */
  static void assertReadsPastTheEndRefused(BlockDevice d) throws IOException {
    long size = d.size();
    assertThrows(OutOfRangeException.class, () -> d.read(size - 1, ByteBuffer.allocate(2)));
    assertThrows(OutOfRangeException.class, () -> d.read(size, ByteBuffer.allocate(1)));
    assertThrows(OutOfRangeException.class, () -> d.read(size + 1, ByteBuffer.allocate(0)));
    assertThrows(OutOfRangeException.class, () -> d.read(Long.MAX_VALUE, ByteBuffer.allocate(1)));
    assertThrows(OutOfRangeException.class, () -> d.blockStatus(size, 1));
    assertThrows(OutOfRangeException.class, () -> d.blockStatus(size - 1, 2));
  }

  @Test
  public void writesPastTheEndGrowWhenClaimed() throws IOException {
    BlockDevice d = fresh();
    requireCapability(d, Capability.GROW);
    long size = d.size();
    byte[] data = randomBytes(1000);
    writeAll(d, size + 4096, data);
    assertEquals(size + 4096 + 1000, d.size());
    assertSameBytes(new byte[4096], 0, readAll(d, size, 4096), size, 4096, "gap before growth");
    assertSameBytes(data, 0, readAll(d, size + 4096, 1000), size + 4096, 1000, "grown data");
  }

  @Test
  public void truncateResizesWhenClaimed() throws IOException {
    BlockDevice d = fresh();
    requireCapability(d, Capability.RESIZE);
    long size = d.size();
    byte[] tail = randomBytes(512);
    writeAll(d, size - 512, tail);
    if (subject.shrinkKeepsData()) {
      shrinkOverDataIsRefused(d);
      return;
    }
    d.truncate(size - 256);
    assertEquals(size - 256, d.size());
    d.truncate(size + 8192);
    assertEquals(size + 8192, d.size());
    byte[] back = readAll(d, size - 512, 512 + 8192);
    assertSameBytes(tail, 0, back, size - 512, 256, "data kept by shrinking");
    assertSameBytes(new byte[256 + 8192], 0, Arrays.copyOfRange(back, 256, back.length),
        size - 256, 256 + 8192, "bytes cut off and grown back");
  }

  /**
   * For formats that never cut off data: a shrink over the data written at the end fails and
   * changes nothing; once those bytes are zeros it succeeds, and growing again reads zeros.
   */
  private void shrinkOverDataIsRefused(BlockDevice d) throws IOException {
    long size = d.size();
    byte[] before = snapshot(d);
    assertThrows(IOException.class, () -> d.truncate(size - 512), "a shrink over data");
    assertEquals(size, d.size(), "size after a refused shrink");
    assertImageEquals(before, d, "after a refused shrink");
    d.writeZeroes(size - 512, 512);
    d.truncate(size - 512);
    assertEquals(size - 512, d.size());
    d.truncate(size + 8192);
    assertEquals(size + 8192, d.size());
    assertSameBytes(before, 0, readAll(d, 0, (int) (size - 512)), 0, (int) (size - 512),
        "data kept by shrinking");
    assertSameBytes(new byte[512 + 8192], 0, readAll(d, size - 512, 512 + 8192), size - 512,
        512 + 8192, "bytes cut off and grown back");
  }
}
