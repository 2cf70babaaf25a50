package io.blockkit.nbd;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.OpenRequest;
import io.blockkit.testkit.BlockDriverConformanceTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The device contract for the {@code nbd+unix} driver against nbdkit's memory plugin (a server
 * blockkit did not write), one nbdkit per image.
 */
class NbdkitConformanceTest extends BlockDriverConformanceTest {
  @Override
  protected BlockDriver driver() {
    return new NbdDriver.NbdUnix();
  }

  @Override
  protected BlockDevice create(long size) throws IOException {
    Peers.require("nbdkit");
    Path dir = Files.createTempDirectory("nbdkit-");
    Path sock = dir.resolve("k.sock");
    try {
      Peers.Server k = Peers.startOnSocket(sock, List.of("nbdkit", "-f", "--exit-with-parent",
          "-U", sock.toString(), "memory", Long.toString(size)));
      closeAfterTest(() -> {
        try {
          k.close();
          Files.deleteIfExists(sock);
          Files.deleteIfExists(dir);
        } catch (Exception e) {
          throw new IOException(e);
        }
      });
    } catch (Exception e) {
      throw new IOException(e);
    }
    return driver().open(OpenRequest.forDriver(driver(), "///?socket=" + sock, null, false));
  }

  @Override
  protected BlockDevice reopen(BlockDevice closed, boolean readOnly) throws IOException {
    String location = closed.location().substring("nbd+unix:".length());
    return driver().open(OpenRequest.forDriver(driver(), location, null, readOnly));
  }

  @Override
  protected Optional<Set<Capability>> expectedCapabilities() {
    return Optional.of(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
        Capability.BLOCK_STATUS, Capability.FLUSH));
  }
}
