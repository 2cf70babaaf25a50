package io.blockkit.conformance;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import io.blockkit.file.FileDriver;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.testkit.BlockDriverConformanceTest;
import io.blockkit.vdi.VdiDriver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** VDI over each protocol, with the default and a small block size. */
class VdiConformanceTest {

  /** Shared set-up: the protocol makes storage, vdi formats and opens it. */
  abstract static class VdiOver extends BlockDriverConformanceTest {
    abstract BlockDriver protocol();

    abstract String newLocation();

    String extraOptions() {
      return "";
    }

    @Override
    protected BlockDriver driver() {
      return new VdiDriver();
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      String location = newLocation();
      protocol().create(new CreateRequest(location, null, Options.empty()));
      BlockDevice child = protocol().open(OpenRequest.of(location, null, false));
      try {
        driver().create(new CreateRequest(location, child,
            Options.parse("size=" + size + extraOptions(), driver().createOptions())));
        return driver().open(OpenRequest.of(location, child, false));
      } catch (IOException | RuntimeException e) {
        child.close();
        throw e;
      }
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
    protected Optional<Set<Capability>> expectedCapabilities() {
      return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD,
          Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.FLUSH, Capability.CHECK,
          Capability.REPAIR));
    }
  }

  @Nested
  class OverFile extends VdiOver {
    @TempDir Path dir;

    @Override
    BlockDriver protocol() {
      return new FileDriver();
    }

    @Override
    String newLocation() {
      return dir.resolve(newName() + ".vdi").toString();
    }
  }

  @Nested
  class OverMemory extends VdiOver {
    @Override
    BlockDriver protocol() {
      return new MemoryDriver();
    }

    @Override
    String newLocation() {
      return newName();
    }
  }

  @Nested
  class OverMemoryWithHalfMegabyteBlocks extends VdiOver {
    @Override
    BlockDriver protocol() {
      return new MemoryDriver();
    }

    @Override
    String newLocation() {
      return newName();
    }

    @Override
    String extraOptions() {
      return ",block_size=512K";
    }

    @Override
    protected int naturalBlockSize() {
      return 512 << 10;
    }
  }
}
