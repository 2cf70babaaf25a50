package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.testkit.FormatConformanceTest;
import io.blockkit.vpc.VpcDriver;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/**
 * VHD through the kit: dynamic images with the default 2 MiB and with 4 KiB blocks and fixed
 * images, each over memory and files, and differencing images over raw and VHD parents in the
 * chain suite. A differencing VHD copies on write at the sector (its bitmap's unit), so the
 * chain suite runs at 512 bytes.
 */
class VpcConformanceTest {

  /** What every variant shares. */
  abstract static class Vpc extends FormatConformanceTest {
    @Override
    protected BlockDriver driver() {
      return new VpcDriver();
    }

    @Override
    protected int naturalBlockSize() {
      return 512;
    }

    /** FLUSH comes from the protocol: files have it, memory does not. */
    @Override
    protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
      Set<Capability> c = EnumSet.of(Capability.WRITE, Capability.WRITE_ZEROES,
          Capability.DISCARD, Capability.BLOCK_STATUS, Capability.CHECK, Capability.REPAIR);
      if (protocol.equals("file")) {
        c.add(Capability.FLUSH);
      }
      return Optional.of(c);
    }

    /** Options beyond size for this variant. */
    Map<String, String> variant() {
      return Map.of();
    }

    @Override
    protected Map<String, String> createOptions(long size) {
      Map<String, String> o = new LinkedHashMap<>(variant());
      o.put("size", Long.toString(size));
      return o;
    }
  }

  @Nested
  class Dynamic extends Vpc {
  }

  @Nested
  class SmallBlocks extends Vpc {
    @Override
    Map<String, String> variant() {
      return Map.of("block_size", "4K");
    }

    @Override
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      Map<String, String> o = new LinkedHashMap<>(super.overlayOptions(size, backingName,
          backingFormat));
      o.put("block_size", "4K");
      return o;
    }
  }

  @Nested
  class Fixed extends Vpc {
    @Override
    Map<String, String> variant() {
      return Map.of("subformat", "fixed");
    }
  }
}
