package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/** Helpers shared by the VDI tests. */
final class TestSupport {
  static final VdiDriver DRIVER = new VdiDriver();
  /** Block maps in pages of 4 entries with one clean page kept: every scan drops pages. */
  static final VdiDriver TINY_MAP_CACHE = new VdiDriver(2, 1);

  private TestSupport() {}

  static VdiImage open(MemDevice file, boolean readOnly) throws IOException {
    return open(DRIVER, file, readOnly);
  }

  static VdiImage open(VdiDriver driver, MemDevice file, boolean readOnly) throws IOException {
    return (VdiImage) driver.open(OpenRequest.of("test.vdi", file, readOnly));
  }

  static VdiImage open(byte[] bytes, boolean readOnly) throws IOException {
    return open(new MemDevice(bytes), readOnly);
  }

  /** Creates an image with our driver into a fresh memory device. */
  static MemDevice create(Map<String, String> options) throws IOException {
    MemDevice file = MemDevice.empty();
    DRIVER.create(new io.blockkit.api.CreateRequest("test.vdi", file,
        Options.of(options, DRIVER.createOptions())));
    return file;
  }

  static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }

  static void write(BlockDevice d, long offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
  }

  static boolean ci() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /**
   * The shared corpus: the first {@code shared/vdi-corpus} found walking up from the working
   * directory. Skips (or fails under CI=true) when it is missing.
   */
  static Path corpus() {
    Optional<Path> found = findCorpus();
    if (found.isEmpty()) {
      String msg = "VDI corpus not found: no shared/vdi-corpus above " + Path.of("").toAbsolutePath();
      if (ci()) {
        throw new AssertionError(msg);
      }
      System.err.println("SKIPPED: " + msg);
      Assumptions.abort(msg);
    }
    return found.get();
  }

  static Optional<Path> findCorpus() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path c = dir.resolve("shared").resolve("vdi-corpus");
      if (Files.isRegularFile(c.resolve("MANIFEST.tsv"))) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }
}
