package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.raw.RawDriver;
import io.blockkit.testkit.FormatConformanceTest;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/** Raw over each protocol; raw scores 1 (last resort) on every image and has no backing files. */
class RawFormatConformanceTest extends FormatConformanceTest {
  @Override
  protected BlockDriver driver() {
    return new RawDriver();
  }

  @Override
  protected int foreignProbeScore() {
    return BlockDriver.PROBE_LAST_RESORT;
  }

  /** Raw passes FLUSH through from its protocol: files have it, memory does not. */
  @Override
  protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
    Set<Capability> c = EnumSet.of(Capability.WRITE, Capability.DISCARD,
        Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.RESIZE);
    if (protocol.equals("file")) {
      c.add(Capability.FLUSH);
    }
    return Optional.of(c);
  }
}
