package io.blockkit.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/** Allocation invariants of a block-based format, seen from outside through block status. */
public final class PhysicalBlocks {
  private PhysicalBlocks() {}

  /**
   * No two virtual blocks share a physical one, and the format's {@code blocks-allocated} (VDI's
   * header count) equals the number of blocks holding data: nothing allocated twice, nothing lost.
   *
   * @return the number of blocks holding data
   */
  public static long assertOneEach(BlockDevice d, long blockSize, String context)
      throws IOException {
    Map<Long, Long> owners = new HashMap<>();
    long size = d.size();
    for (long start = 0; start < size; start += blockSize) {
      Extent e = d.blockStatus(start, Math.min(blockSize, size - start));
      if (e.data()) {
        assertTrue(e.hasHostOffset(), context + ": block " + start / blockSize
            + " has data but no host offset");
        Long other = owners.putIfAbsent(e.hostOffset(), start / blockSize);
        if (other != null) {
          fail(context + ": blocks " + other + " and " + start / blockSize
              + " share host offset " + e.hostOffset());
        }
      }
    }
    Object allocated = d.info().formatSpecific().get("blocks-allocated");
    assertEquals(owners.size(), ((Number) allocated).longValue(),
        context + ": blocks-allocated vs blocks holding data");
    return owners.size();
  }
}
