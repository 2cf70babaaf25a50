package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.UUID;

/** Raw images on the memory protocol for the operations' tests, and what they read as. */
final class Images {
  static final OpenParams RW = OpenParams.defaults().withFormat("raw").withWarnings(w -> { });
  static final OpenParams RO = RW.withReadOnly(true);

  private Images() {}

  static BlockRegistry registry() throws IOException {
    return BlockRegistry.load();
  }

  /** A new raw image of {@code size} bytes with random data in a few places; returns its name. */
  static String raw(BlockRegistry reg, int size, long seed) throws IOException {
    String name = "memory:ops-" + UUID.randomUUID();
    reg.create(name, "raw", java.util.Map.of("size", Integer.toString(size)));
    Random rnd = new Random(seed);
    try (BlockDevice d = reg.open(name, RW)) {
      for (int i = 0; i < 8 && size > 0; i++) {
        int off = rnd.nextInt(size);
        byte[] data = new byte[Math.min(size - off, 1 + rnd.nextInt(300_000))];
        rnd.nextBytes(data);
        d.write(off, ByteBuffer.wrap(data));
      }
    }
    return name;
  }

  static byte[] read(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    d.read(0, b);
    return b.array();
  }

  static byte[] read(BlockRegistry reg, String name) throws IOException {
    try (BlockDevice d = reg.open(name, RO)) {
      return read(d);
    }
  }
}
