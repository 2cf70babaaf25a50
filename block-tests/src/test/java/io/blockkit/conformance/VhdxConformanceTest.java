package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.testkit.FormatConformanceTest;
import io.blockkit.vhdx.VhdxDriver;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/**
 * VHDX through the kit: dynamic images of 1 MiB blocks with 512-byte and with 4096-byte logical
 * sectors, each over memory and files, with the backing-chain suite (differencing images over raw
 * and VHDX parents). A differencing image stores what a write covers sector by sector
 * (PARTIALLY_PRESENT blocks and the sector bitmap), so the unit of copy-on-write is the logical
 * sector.
 */
class VhdxConformanceTest {

  /** What the variants share. */
  abstract static class Vhdx extends FormatConformanceTest {
    /** The logical sector size of the variant. */
    abstract int sector();

    Map<String, String> variantOptions() {
      return Map.of("block_size", "1M", "logical_sector_size", Integer.toString(sector()));
    }

    @Override
    protected BlockDriver driver() {
      return new VhdxDriver();
    }

    @Override
    protected Map<String, String> createOptions(long size) {
      Map<String, String> o = new LinkedHashMap<>(variantOptions());
      o.put("size", Long.toString(size));
      return o;
    }

    @Override
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      Map<String, String> o = new LinkedHashMap<>(super.overlayOptions(size, backingName,
          backingFormat));
      o.putAll(variantOptions());
      return o;
    }

    /** Sizes are whole logical sectors (the size rounds up to one). */
    @Override
    protected long[] sizesToTest() {
      return new long[] {0, sector(), 65536L + sector(), 3L << 20};
    }

    @Override
    protected int naturalBlockSize() {
      return sector();
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
      return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD,
          Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.FLUSH, Capability.CHECK,
          Capability.REPAIR));
    }
  }

  @Nested
  class Sectors512 extends Vhdx {
    @Override
    int sector() {
      return 512;
    }
  }

  @Nested
  class Sectors4K extends Vhdx {
    @Override
    int sector() {
      return 4096;
    }
  }
}
