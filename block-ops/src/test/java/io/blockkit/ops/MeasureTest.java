package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Measurement;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.BlockRegistry;
import org.junit.jupiter.api.Test;

class MeasureTest {
  @Test
  void theDriverAnswersForASizeOrASource() throws Exception {
    BlockRegistry reg = Images.registry();
    assertEquals(new Measurement(1 << 30, 1 << 30), Measure.format("raw").size(1 << 30).run(reg));
    String src = Images.raw(reg, 777_777, 1);
    try (BlockDevice d = reg.open(src, Images.RO)) {
      assertEquals(new Measurement(777_777, 777_777), Measure.format("raw").source(d).run(reg));
      assertThrows(IllegalStateException.class, () -> Measure.format("raw").size(1).source(d)
          .run(reg));
    }
    assertThrows(IllegalStateException.class, () -> Measure.format("raw").run(reg));
    UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
        () -> Measure.format("memory").size(1).run(reg));
    assertEquals("Block driver 'memory' does not support size measurement", e.getMessage());
  }
}
