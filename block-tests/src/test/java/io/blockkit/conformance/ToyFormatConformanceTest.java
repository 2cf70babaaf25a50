package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.testkit.FormatConformanceTest;
import io.blockkit.verify.plugin.ToyFormatDriver;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;

/**
 * The test-only toy format through every suite a writable format with backing files runs: the
 * device contract on memory and files, the registry's view, and the backing-chain suite, with the
 * default 4 KiB and with 512-byte clusters.
 */
class ToyFormatConformanceTest {

  /** What both variants share. */
  abstract static class Toy extends FormatConformanceTest {
    @Override
    protected BlockDriver driver() {
      return new ToyFormatDriver();
    }

    /** FLUSH comes from the protocol: files have it, memory does not. */
    @Override
    protected Optional<Set<Capability>> expectedCapabilities(String protocol) {
      Set<Capability> c = EnumSet.of(Capability.WRITE, Capability.WRITE_ZEROES,
          Capability.DISCARD, Capability.BLOCK_STATUS);
      if (protocol.equals("file")) {
        c.add(Capability.FLUSH);
      }
      return Optional.of(c);
    }
  }

  @Nested
  class DefaultClusters extends Toy {
  }

  @Nested
  class SmallClusters extends Toy {
    @Override
    protected Map<String, String> createOptions(long size) {
      return Map.of("size", Long.toString(size), "cluster_size", "512");
    }

    @Override
    protected Map<String, String> overlayOptions(long size, String backingName,
        String backingFormat) {
      return Map.of("size", Long.toString(size), "cluster_size", "512",
          "backing_file", backingName, "backing_fmt", backingFormat);
    }

    @Override
    protected int naturalBlockSize() {
      return 512;
    }
  }
}
