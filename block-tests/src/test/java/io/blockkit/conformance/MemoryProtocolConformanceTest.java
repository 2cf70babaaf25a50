package io.blockkit.conformance;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.testkit.BlockDriverConformanceTest;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

class MemoryProtocolConformanceTest extends BlockDriverConformanceTest {
  @Override
  protected BlockDriver driver() {
    return new MemoryDriver();
  }

  @Override
  protected BlockDevice create(long size) throws IOException {
    String name = newName();
    driver().create(new CreateRequest(name, null,
        Options.parse("size=" + size, driver().createOptions())));
    return driver().open(OpenRequest.of(name, null, false));
  }

  @Override
  protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
    String name = closed.location().substring("memory:".length());
    return driver().open(OpenRequest.of(name, null, readOnly));
  }

  @Override
  protected Optional<Set<Capability>> expectedCapabilities() {
    return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
        Capability.BLOCK_STATUS, Capability.RESIZE, Capability.GROW));
  }
}
