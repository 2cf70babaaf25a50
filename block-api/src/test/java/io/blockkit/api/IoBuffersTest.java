package io.blockkit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class IoBuffersTest {
  @Test
  void buffersStartOnAPageAndHoldExactlyTheSizeAsked() {
    for (int size : new int[] {1, 4096, 65536, 2 << 20}) {
      ByteBuffer b = IoBuffers.direct(size);
      assertTrue(b.isDirect());
      assertEquals(0, b.alignmentOffset(0, 4096), "buffer of " + size);
      assertEquals(size, b.capacity());
      assertEquals(0, b.position());
      assertEquals(size, b.limit());
    }
  }
}
