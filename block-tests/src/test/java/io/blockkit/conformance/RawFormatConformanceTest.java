package io.blockkit.conformance;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import io.blockkit.file.FileDriver;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.raw.RawDriver;
import io.blockkit.testkit.BlockDriverConformanceTest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** Raw over each protocol; raw scores 1 (last resort) on every image. */
class RawFormatConformanceTest {

  /** Shared set-up: the protocol makes storage, raw formats and opens it. */
  abstract static class RawOver extends BlockDriverConformanceTest {
    abstract BlockDriver protocol();

    abstract String newLocation();

    @Override
    protected BlockDriver driver() {
      return new RawDriver();
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      String location = newLocation();
      protocol().create(new CreateRequest(location, null, Options.empty()));
      BlockDevice child = protocol().open(OpenRequest.of(location, null, false));
      try {
        driver().create(new CreateRequest(location, child,
            Options.parse("size=" + size, driver().createOptions())));
      } catch (IOException | RuntimeException e) {
        child.close();
        throw e;
      }
      return driver().open(OpenRequest.of(location, child, false));
    }

    @Override
    protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
      String location = closed.child().orElseThrow().location();
      if (location.startsWith("memory:")) {
        location = location.substring("memory:".length());
      }
      BlockDevice child = protocol().open(OpenRequest.of(location, null, readOnly));
      return driver().open(OpenRequest.of(closed.location(), child, readOnly));
    }

    @Override
    protected int foreignProbeScore() {
      return BlockDriver.PROBE_LAST_RESORT;
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities() {
      return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD,
          Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.FLUSH, Capability.RESIZE));
    }
  }

  @Nested
  class OverFile extends RawOver {
    @TempDir Path dir;

    @Override
    BlockDriver protocol() {
      return new FileDriver();
    }

    @Override
    String newLocation() {
      return dir.resolve(newName() + ".raw").toString();
    }
  }

  @Nested
  class OverMemory extends RawOver {
    @Override
    BlockDriver protocol() {
      return new MemoryDriver();
    }

    @Override
    String newLocation() {
      return newName();
    }

    @Override
    protected Optional<Set<Capability>> expectedCapabilities() {
      return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD,
          Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.RESIZE));
    }
  }
}
