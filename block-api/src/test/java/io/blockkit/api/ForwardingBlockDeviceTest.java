package io.blockkit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ForwardingBlockDeviceTest {
  private static final class View extends ForwardingBlockDevice {
    View(BlockDevice target, boolean owned) {
      super(target, owned);
    }
  }

  private static BlockDevice target() throws IOException {
    BlockDevice t = mock(BlockDevice.class);
    BlockDriver driver = mock(BlockDriver.class);
    when(driver.name()).thenReturn("mock");
    when(t.driver()).thenReturn(driver);
    when(t.location()).thenReturn("target.img");
    when(t.isReadOnly()).thenReturn(false);
    when(t.size()).thenReturn(1L << 20);
    when(t.capabilities()).thenReturn(EnumSet.of(Capability.WRITE, Capability.RESIZE));
    when(t.allocatedSize()).thenReturn(4096L);
    return t;
  }

  @Test
  void everyRequestGoesToTheTarget() throws IOException {
    BlockDevice t = target();
    try (View v = new View(t, false)) {
      assertSame(t.driver(), v.driver());
      assertEquals("target.img", v.location());
      assertEquals(1L << 20, v.size());
      assertEquals(EnumSet.of(Capability.WRITE, Capability.RESIZE), v.capabilities());
      assertEquals(4096, v.allocatedSize());
      ByteBuffer buf = ByteBuffer.allocate(512);
      v.read(512, buf);
      verify(t).read(512, buf);
      v.write(1024, buf);
      verify(t).write(1024, buf);
      v.writeZeroes(2048, 512);
      verify(t).writeZeroes(2048, 512);
      v.discard(4096, 4096);
      verify(t).discard(4096, 4096);
      v.flush();
      verify(t).flush();
      v.truncate(1L << 21);
      verify(t).truncate(1L << 21);
    }
  }

  /**
   * A subclass may change what reads return, so the file offsets the target names are left out:
   * convert would copy them from the file, past the subclass.
   */
  @Test
  void blockStatusIsForwardedWithoutHostOffsets() throws IOException {
    BlockDevice t = target();
    BlockDevice host = mock(BlockDevice.class);
    when(t.blockStatus(0, 65536)).thenReturn(new Extent(0, 4096, true, false, true, 8192, host));
    try (View v = new View(t, false)) {
      Extent e = v.blockStatus(0, 65536);
      assertEquals(new Extent(0, 4096, true, false, true, -1, null), e);
      assertNull(e.host());
    }
  }

  @Test
  void closingClosesTheTargetOnlyWhenOwned() throws IOException {
    BlockDevice kept = target();
    new View(kept, false).close();
    verify(kept, never()).close();

    BlockDevice owned = target();
    View v = new View(owned, true);
    assertEquals(Optional.of(owned), v.child());
    v.close();
    verify(owned).close();
  }

  @Test
  void aViewOfAReadOnlyTargetIsReadOnly() throws IOException {
    BlockDevice t = target();
    when(t.isReadOnly()).thenReturn(true);
    try (View v = new View(t, false)) {
      assertTrue(v.isReadOnly());
      assertFalse(v.child().isPresent());
    }
  }
}
