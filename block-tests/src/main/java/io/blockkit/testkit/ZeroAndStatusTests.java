package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** writeZeroes reads zeros, discard keeps zeros or old data, block status agrees with content. */
abstract class ZeroAndStatusTests extends DeviceGroup {
  ZeroAndStatusTests(BlockDriverConformanceTest subject) {
    super(subject);
  }

  @Test
  public void blockStatusAgreesWithData() throws IOException {
    BlockDevice d = fresh();
    if (d.capabilities().contains(Capability.WRITE)) {
      int size = (int) d.size();
      for (int i = 0; i < 12; i++) {
        int off = random().nextInt(size);
        int len = 1 + random().nextInt(Math.min(size - off, 200_000));
        if (i % 3 == 2) {
          d.writeZeroes(off, len);
        } else {
          writeAll(d, off, randomBytes(len));
        }
      }
    }
    assertExtentsTileAndAgree(d, "after random writes and zeroing");
    assertShortQueriesObeyTheContract(d);
  }

  @Test
  public void writeZeroesReadsZeros() throws IOException {
    BlockDevice d = fresh();
    requireWritable(d);
    int size = (int) d.size();
    byte[] model = randomBytes(size);
    writeAll(d, 0, model);
    int block = block();
    long[][] ranges = {{1, 1}, {block - 3, 7}, {block, block}, {3L * block + 17, 2L * block + 5},
        {size - 1, 1}};
    for (long[] r : ranges) {
      if (r[0] + r[1] > size) {
        continue;
      }
      d.writeZeroes(r[0], r[1]);
      Arrays.fill(model, (int) r[0], (int) (r[0] + r[1]), (byte) 0);
    }
    assertImageEquals(model, d, "after writeZeroes");
    assertExtentsTileAndAgree(d, "after writeZeroes");
  }

  @Test
  public void discardLeavesZerosOrOldData() throws IOException {
    BlockDevice d = fresh();
    requireWritable(d);
    int size = (int) d.size();
    byte[] model = randomBytes(size);
    writeAll(d, 0, model);
    int off = block() - 100;
    int len = Math.min(size - off, 3 * block() + 300);
    d.discard(off, len);
    byte[] after = snapshot(d);
    for (int i = 0; i < size; i++) {
      boolean inside = i >= off && i < off + len;
      if (after[i] != model[i] && !(inside && after[i] == 0)) {
        fail("byte " + i + (inside ? " inside" : " outside") + " the discarded range " + off + "+"
            + len + " is " + (after[i] & 0xff) + ", expected " + (model[i] & 0xff)
            + (inside ? " or 0" : "") + seedNote());
      }
    }
  }
}
