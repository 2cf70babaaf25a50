package io.blockkit.bench;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Builds benchmark inputs through the public API, on /dev/shm when present so the disk is not measured. */
final class BenchImages {
  static final int MIB = 1 << 20;

  private BenchImages() {}

  static BlockRegistry registry() throws IOException {
    return BlockRegistry.load();
  }

  static Path scratchDir() throws IOException {
    Path shm = Path.of("/dev/shm");
    return Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(
        System.getProperty("java.io.tmpdir")), "blockkit-bench");
  }

  /** Creates an image of {@code format} at {@code path} and fills it with a non-zero pattern. */
  static void createFilled(BlockRegistry reg, Path path, String format, long size)
      throws IOException {
    reg.create(path.toString(), format, Map.of("size", Long.toString(size)));
    try (BlockDevice dev = reg.open(path.toString(), OpenParams.defaults().withFormat(format))) {
      ByteBuffer buf = ByteBuffer.allocateDirect(MIB);
      for (long off = 0; off < size; off += MIB) {
        buf.clear();
        for (int i = 0; i < MIB; i += 8) {
          buf.putLong(i, off + i + 1);
        }
        buf.limit((int) Math.min(MIB, size - off));
        dev.write(off, buf);
      }
      dev.flush();
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
