package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class CompareTest {
  /** A difference anywhere is found, at the start of its sector, whatever the images hold. */
  @Property(tries = 40)
  void theFirstDifferenceIsReportedAtItsSector(@ForAll long seed,
      @ForAll @IntRange(min = 0, max = (4 << 20) - 1) int at,
      @ForAll @IntRange(min = 0, max = 3) int extraMiB) throws Exception {
    BlockRegistry reg = Images.registry();
    String a = Images.raw(reg, 4 << 20, seed);
    String b = "memory:cmp-" + UUID.randomUUID();
    reg.create(b, "raw", Map.of("size", Integer.toString((4 + extraMiB) << 20)));
    try (BlockDevice x = reg.open(a, Images.RO); BlockDevice y = reg.open(b, Images.RW)) {
      byte[] content = Images.read(x);
      y.write(0, ByteBuffer.wrap(content));
      CompareResult same = Compare.of(x, y).run();
      assertTrue(same.identical());
      assertEquals(extraMiB != 0, same.sizesDiffer());
      assertEquals(extraMiB != 0 ? CompareResult.Outcome.SIZE_MISMATCH
          : CompareResult.Outcome.IDENTICAL, Compare.of(x, y).strict(true).run().outcome());
      y.write(at, ByteBuffer.wrap(new byte[] {(byte) (content[at] + 1)}));
      CompareResult r = Compare.of(x, y).run();
      assertEquals(CompareResult.Outcome.CONTENT_MISMATCH, r.outcome());
      assertEquals(at / 512 * 512, r.offset());
      if (extraMiB != 0) {
        y.write(at, ByteBuffer.wrap(new byte[] {content[at]}));
        y.write((4 << 20) + 1000, ByteBuffer.wrap(new byte[] {1}));
        CompareResult over = Compare.of(x, y).run();
        assertFalse(over.identical());
        assertEquals((4 << 20) + 512, over.offset(), "a byte past the shorter image's end");
      }
    }
  }
}
