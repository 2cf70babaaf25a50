package io.blockkit.api;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;

import org.junit.jupiter.api.Test;

class ExtentTest {
  @Test
  void onlyADataRunThatIsNotZeroAndNamesHostAndOffsetHasItsBytesInTheHost() {
    BlockDevice host = mock(BlockDevice.class);
    assertTrue(Extent.data(0, 512, 4096, host).hostHoldsBytes());
    assertFalse(Extent.data(0, 512, -1, null).hostHoldsBytes(), "no host");
    assertFalse(Extent.data(0, 512, -1, host).hostHoldsBytes(), "no offset");
    assertFalse(Extent.data(0, 512, 4096, null).hostHoldsBytes(), "no host device");
    assertFalse(new Extent(0, 512, true, true, true, 4096, host).hostHoldsBytes(),
        "zero: the host's bytes there need not be zeros");
    assertFalse(new Extent(0, 512, false, false, false, 4096, host).hostHoldsBytes(),
        "not data");
  }
}
