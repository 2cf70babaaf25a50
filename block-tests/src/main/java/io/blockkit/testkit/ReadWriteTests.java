package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.error.ReadOnlyException;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** Random and boundary round trips, data across close and reopen, read-only opens. */
abstract class ReadWriteTests extends DeviceGroup {
  ReadWriteTests(BlockDriverConformanceTest subject) {
    super(subject);
  }

  @Test
  public void randomRoundTrips() throws IOException {
    BlockDevice d = fresh();
    requireWritable(d);
    byte[] model = initialModel(d);
    int size = model.length;
    for (int op = 0; op < 200; op++) {
      int off = random().nextInt(size);
      int len = 1 + random().nextInt(Math.min(size - off, op % 10 == 0 ? 300_000 : 9000));
      if (random().nextInt(4) == 0) {
        assertSameBytes(model, off, readAll(d, off, len), off, len, "read after " + op + " ops");
      } else {
        byte[] data = randomBytes(len);
        ByteBuffer buf = random().nextBoolean() ? ByteBuffer.wrap(data)
            : ByteBuffer.allocateDirect(len).put(data).flip();
        d.write(off, buf);
        assertFalse(buf.hasRemaining(), "write did not consume the buffer");
        System.arraycopy(data, 0, model, off, len);
      }
    }
    assertImageEquals(model, d, "after random writes");
  }

  @Test
  public void blockBoundaryRoundTrips() throws IOException {
    int block = block();
    BlockDevice d = fresh(Math.max(subject.defaultSize(), 6L * block));
    requireWritable(d);
    byte[] model = initialModel(d);
    int[] lengths = {1, 2, 511, 512, 513, block - 1, block, block + 1, 2 * block + 1};
    for (int k = 1; k <= 4; k++) {
      for (int delta : new int[] {-1, 0, 1}) {
        for (int len : lengths) {
          long off = (long) k * block + delta;
          if (off < 0 || off + len > model.length) {
            continue;
          }
          byte[] data = randomBytes(len);
          writeAll(d, off, data);
          System.arraycopy(data, 0, model, (int) off, len);
          int from = (int) Math.max(0, off - 3);
          byte[] around = readAll(d, from, Math.min(model.length - from, len + 6));
          assertSameBytes(model, from, around, from, around.length, "write of " + len + " at "
              + off);
        }
      }
    }
    assertImageEquals(model, d, "after boundary writes");
  }

  @Test
  public void dataSurvivesCloseAndReopen() throws IOException {
    BlockDevice d = fresh();
    requireWritable(d);
    byte[] model = initialModel(d);
    for (int i = 0; i < 20; i++) {
      int off = random().nextInt(model.length);
      int len = 1 + random().nextInt(Math.min(model.length - off, 100_000));
      byte[] data = randomBytes(len);
      writeAll(d, off, data);
      System.arraycopy(data, 0, model, off, len);
    }
    d.flush();
    BlockDevice ro = closeAndReopen(d, true);
    assertImageEquals(model, ro, "after reopening read-only");
    BlockDevice rw = closeAndReopen(ro, false);
    assertImageEquals(model, rw, "after reopening read-write");
    assertEquals(model.length, rw.info().virtualSize(), "virtual size after reopening");
  }

  @Test
  public void readOnlyDeviceRefusesWrites() throws IOException {
    BlockDevice w = fresh();
    requireWritable(w);
    byte[] data = randomBytes(4096);
    writeAll(w, 0, data);
    w.flush();
    BlockDevice d = closeAndReopen(w, true);
    assertTrue(d.isReadOnly());
    assertFalse(d.capabilities().contains(Capability.WRITE), "read-only device claims WRITE");
    byte[] before = snapshot(d);
    assertWritesRefused(d);
    d.flush();
    assertImageEquals(before, d, "read-only image after refused writes");
    assertSameBytes(data, 0, readAll(d, 0, 4096), 0, 4096, "data written before reopening");
  }

  /** Every kind of write to a read-only device fails with {@link ReadOnlyException}. */
  static void assertWritesRefused(BlockDevice d) {
    assertThrows(ReadOnlyException.class, () -> d.write(0, ByteBuffer.wrap(new byte[] {1})));
    assertThrows(ReadOnlyException.class, () -> d.writeZeroes(0, 1));
    assertThrows(ReadOnlyException.class, () -> d.discard(0, 1));
    assertThrows(ReadOnlyException.class, () -> d.truncate(d.size() * 2 + 512));
  }
}
