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

/**
 * VDI with the default and a small block size, each over memory and files, with the chain suite
 * over VDI parents.
 */
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
          Capability.REPAIR, Capability.RESIZE));
    }

    /** A VDI shrinks only over a part that holds no data, in whole sectors. */
    @Override
    protected boolean shrinkKeepsData() {
      return true;
    }

    /** A VDI's parent is a VDI: VirtualBox finds it by its UUID, which raw images do not have. */
    @Override
    protected String baseFormat() {
      return "vdi";
    }

    /** A VDI records its parent's UUID, not its name: a missing parent is named by UUID. */
    @Override
    protected boolean recordsBackingName() {
      return false;
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
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      Map<String, String> o = new java.util.HashMap<>(super.overlayOptions(size, backingName,
          backingFormat));
      o.put("block_size", "512K");
      return o;
    }

    @Override
    protected int naturalBlockSize() {
      return 512 << 10;
    }
  }
}
