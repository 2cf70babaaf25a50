package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.testkit.FormatConformanceTest;
import io.blockkit.vdi.VdiDriver;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/** VDI with the default and a small block size, each over memory and files. */
class VdiConformanceTest {

  /** What both variants share. */
  abstract static class Vdi extends FormatConformanceTest {
    @Override
    protected BlockDriver driver() {
      return new VdiDriver();
    }

    /** VDI stores no image of size 0 (VirtualBox rejects a zero disk size). */
    @Override
    protected long[] sizesToTest() {
      return new long[] {512, 65536 + 512, 3L << 20, (3L << 20) + 1536};
    }

    @Override
    protected int naturalBlockSize() {
      return 1 << 20;
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
      return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD,
          Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.FLUSH, Capability.CHECK,
          Capability.REPAIR));
    }
  }

  @Nested
  class DefaultBlocks extends Vdi {
  }

  @Nested
  class HalfMegabyteBlocks extends Vdi {
    @Override
    protected Map<String, String> createOptions(long size) {
      return Map.of("size", Long.toString(size), "block_size", "512K");
    }

    @Override
    protected int naturalBlockSize() {
      return 512 << 10;
    }
  }
}
