package io.blockkit.nbd;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.OpenRequest;
import io.blockkit.testkit.BlockDriverConformanceTest;
import java.io.IOException;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The device contract for the {@code nbd} driver, each image a memory image served by an
 * in-process {@link io.blockkit.nbd.server.NbdServer}: blockkit's client against blockkit's
 * server (the peers are checked against each in the interop tests).
 */
class NbdConformanceTest extends BlockDriverConformanceTest {
  private final Map<String, Served> servers = new HashMap<>();

  @Override
  protected BlockDriver driver() {
    return new NbdDriver();
  }

  @Override
  protected BlockDevice create(long size) throws IOException {
    Served s = closeAfterTest(Served.memory(size));
    servers.put(s.uri(), s);
    return driver().open(OpenRequest.forDriver(driver(), s.uri().substring(4), null, false));
  }

  @Override
  protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
    return driver().open(OpenRequest.forDriver(driver(), closed.location().substring(4), null,
        readOnly));
  }

  @Override
  protected Optional<Set<Capability>> expectedCapabilities() {
    return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
        Capability.BLOCK_STATUS, Capability.FLUSH));
  }
}
