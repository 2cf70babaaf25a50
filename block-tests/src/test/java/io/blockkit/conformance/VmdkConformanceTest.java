package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.testkit.FormatConformanceTest;
import io.blockkit.vmdk.VmdkDriver;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/**
 * VMDK's writable subformats through the kit over memory and files: monolithicSparse (with the
 * chain suite, and with zeroed grains), twoGbMaxExtentSparse and monolithicFlat (extent files
 * beside a text descriptor). streamOptimized is append-only and has its own tests in block-vmdk.
 */
class VmdkConformanceTest {

  abstract static class Vmdk extends FormatConformanceTest {
    @Override
    protected BlockDriver driver() {
      return new VmdkDriver();
    }

    /** Sizes are whole sectors (VMDK counts in sectors). */
    @Override
    protected long[] sizesToTest() {
      return new long[] {512, 65536 + 512, 3L << 20, (3L << 20) + 1536};
    }

    @Override
    protected int naturalBlockSize() {
      return 65536;
    }

    protected String subformat() {
      return "monolithicSparse";
    }

    protected Map<String, String> extra() {
      return Map.of();
    }

    @Override
    protected Map<String, String> createOptions(long size) {
      Map<String, String> o = new LinkedHashMap<>(extra());
      o.put("size", Long.toString(size));
      o.put("subformat", subformat());
      return o;
    }

    @Override
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      Map<String, String> o = new LinkedHashMap<>(super.overlayOptions(size, backingName,
          backingFormat));
      o.putAll(extra());
      return o;
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
      Set<Capability> c = EnumSet.of(Capability.WRITE, Capability.WRITE_ZEROES,
          Capability.BLOCK_STATUS, Capability.CHECK, Capability.REPAIR);
      if (protocol.equals("file")) {
        c.add(Capability.FLUSH);
      }
      return Optional.of(c);
    }
  }

  @Nested
  class MonolithicSparse extends Vmdk {
  }

  @Nested
  class ZeroedGrains extends Vmdk {
    @Override
    protected Map<String, String> extra() {
      return Map.of("zeroed_grain", "on");
    }
  }

  @Nested
  class SplitSparse extends Vmdk {
    @Override
    protected String subformat() {
      return "twoGbMaxExtentSparse";
    }
  }

  @Nested
  class MonolithicFlat extends Vmdk {
    @Override
    protected String subformat() {
      return "monolithicFlat";
    }
  }
}
