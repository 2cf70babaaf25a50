package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.qcow2.Qcow2Driver;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/**
 * qcow2 through the kit: the default (v3, 64 KiB clusters), version 2 (no zero flag), small
 * clusters with 1-bit refcounts, and extended L2 entries (copy-on-write per 4 KiB subcluster).
 */
class Qcow2ConformanceTest {

  /** What every variant shares. */
  abstract static class Qcow2 extends FormatConformanceTestBase {
  }

  /** The kit's base with the qcow2 driver and its capabilities. */
  abstract static class FormatConformanceTestBase
      extends io.blockkit.testkit.FormatConformanceTest {
    @Override
    protected BlockDriver driver() {
      return new Qcow2Driver();
    }

    @Override
    protected int naturalBlockSize() {
      return 64 << 10;
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
      return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD,
          Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.FLUSH, Capability.CHECK,
          Capability.REPAIR, Capability.RESIZE));
    }

    /** The create options of the variant, besides size. */
    protected Map<String, String> variant() {
      return Map.of();
    }

    @Override
    protected Map<String, String> createOptions(long size) {
      Map<String, String> o = new java.util.LinkedHashMap<>(variant());
      o.put("size", Long.toString(size));
      return o;
    }

    @Override
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      Map<String, String> o = new java.util.LinkedHashMap<>(variant());
      o.putAll(super.overlayOptions(size, backingName, backingFormat));
      return o;
    }
  }

  @Nested
  class Default extends Qcow2 {
  }

  @Nested
  class Version2 extends Qcow2 {
    @Override
    protected Map<String, String> variant() {
      return Map.of("compat", "0.10");
    }
  }

  @Nested
  class SmallClustersOneBitRefcounts extends Qcow2 {
    @Override
    protected Map<String, String> variant() {
      return Map.of("cluster_size", "4K", "refcount_bits", "1");
    }

    @Override
    protected int naturalBlockSize() {
      return 4096;
    }
  }

  @Nested
  class ExtendedL2 extends Qcow2 {
    @Override
    protected Map<String, String> variant() {
      return Map.of("cluster_size", "128K", "extended_l2", "on");
    }

    @Override
    protected int naturalBlockSize() {
      return 4096;
    }
  }
}
