package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ResizeTest {
  @Test
  void growingAddsZerosAndShrinkingMustBeAllowed() throws Exception {
    BlockRegistry reg = Images.registry();
    String name = Images.raw(reg, 1 << 20, 1);
    try (BlockDevice d = reg.open(name, Images.RW)) {
      byte[] before = Images.read(d);
      assertEquals(1 << 20, Resize.of(d).to(3 << 20).run());
      byte[] after = Images.read(d);
      assertArrayEquals(before, Arrays.copyOf(after, before.length));
      assertEquals(-1, Arrays.mismatch(new byte[2 << 20],
          Arrays.copyOfRange(after, 1 << 20, 3 << 20)));
      ResizeRefusedException e = assertThrows(ResizeRefusedException.class,
          () -> Resize.of(d).to(2 << 20).run());
      assertEquals(ResizeRefusedException.Reason.SHRINK_NOT_ALLOWED, e.reason());
      assertEquals(3 << 20, d.size());
      assertEquals(3 << 20, Resize.of(d).to(1 << 20).allowShrink(true).run());
      assertArrayEquals(before, Images.read(d));
    }
  }

  /** One non-zero byte anywhere past the new end stops the shrink, and is named exactly. */
  @Property(tries = 40)
  void aShrinkOverAnyNonZeroByteIsRefused(@ForAll @IntRange(min = 1, max = 3 << 20) int cut,
      @ForAll @IntRange(min = 0, max = (3 << 20) - 1) int at) throws Exception {
    BlockRegistry reg = Images.registry();
    String name = "memory:shrink-" + UUID.randomUUID();
    reg.create(name, "raw", Map.of("size", Integer.toString(3 << 20)));
    try (BlockDevice d = reg.open(name, Images.RW)) {
      d.write(at, ByteBuffer.wrap(new byte[] {7}));
      Resize r = Resize.of(d).to(cut).allowShrink(true);
      if (at >= cut) {
        ResizeRefusedException e = assertThrows(ResizeRefusedException.class, r::run);
        assertEquals(ResizeRefusedException.Reason.DATA_PAST_END, e.reason());
        assertEquals(at, e.dataOffset());
        assertEquals(3 << 20, d.size());
      } else {
        r.run();
        assertEquals(cut, d.size());
      }
    }
  }
}
