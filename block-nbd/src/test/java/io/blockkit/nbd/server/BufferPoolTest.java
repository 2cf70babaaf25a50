package io.blockkit.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class BufferPoolTest {
  @Test
  void buffersAreDirectExactAndReusedBySizeClass() throws Exception {
    BufferPool pool = new BufferPool(8 << 20);
    for (int length : new int[] {1, 4096, 65537, 1 << 20, 3 << 20}) {
      ByteBuffer b = pool.acquire(length);
      assertTrue(b.isDirect());
      assertEquals(0, b.position());
      assertEquals(length, b.limit());
      assertEquals(1L << BufferPool.sizeClass(length), b.capacity());
      pool.release(b);
      assertSame(b, pool.acquire(length), "an idle buffer of the class is reused");
      pool.release(b);
    }
    pool.close();
  }
}
