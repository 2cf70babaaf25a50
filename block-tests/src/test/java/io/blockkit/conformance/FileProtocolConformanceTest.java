package io.blockkit.conformance;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import io.blockkit.file.FileDriver;
import io.blockkit.testkit.BlockDriverConformanceTest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;

class FileProtocolConformanceTest extends BlockDriverConformanceTest {
  @TempDir Path dir;

  @Override
  protected BlockDriver driver() {
    return new FileDriver();
  }

  @Override
  protected BlockDevice create(long size) throws IOException {
    String path = dir.resolve(newName() + ".img").toString();
    driver().create(new CreateRequest(path, null,
        Options.parse("size=" + size, driver().createOptions())));
    return driver().open(OpenRequest.of(path, null, false));
  }

  @Override
  protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
    return driver().open(OpenRequest.of(closed.location(), null, readOnly));
  }

  @Override
  protected Optional<Set<Capability>> expectedCapabilities() {
    return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
        Capability.BLOCK_STATUS, Capability.FLUSH, Capability.RESIZE, Capability.GROW));
  }
}
