package io.blockkit.conformance;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import io.blockkit.testkit.ChainModel;
import io.blockkit.testkit.FormatFixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import io.blockkit.testkit.ImageFixture.Kind;
import io.blockkit.testkit.Storage;
import io.blockkit.verify.plugin.ToyFormatDriver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;

/**
 * The read-only build of the toy format over a known image: an overlay of a shorter raw base,
 * made by the writable build, with data clusters out of order on the host, copy-on-write clusters
 * (one across the base's end), zeroed clusters over the base's data and past its end, unallocated
 * ones, and a partial last cluster. The expected content and map come from a {@link ChainModel}.
 */
class ToyFixtureConformanceTest extends FormatFixtureConformanceTest {
  static final int CLUSTER = 4096;

  @Override
  protected BlockDriver driver() {
    return ToyFormatDriver.readOnly();
  }

  @Override
  protected ImageFixture fixture() throws IOException {
    return overlayOfAShorterBase(random());
  }

  /** The fixture, its bytes made by {@code toyfmt} as the test class path registers it. */
  static ImageFixture overlayOfAShorterBase(Random random) throws IOException {
    int c = CLUSTER;
    byte[] base = new byte[5 * c + 123];
    random.nextBytes(base);
    ChainModel model = new ChainModel(c, base);
    ChainModel.Layer top = model.overlay(16 * c + 1000);
    BlockRegistry registry = BlockRegistry.load();
    try (Storage storage = Storage.memory(registry)) {
      storage.put("base.raw", base);
      registry.create(storage.location("disk.toy"), ToyFormatDriver.NAME,
          Map.of("size", Integer.toString(top.size()), "backing_file", "base.raw",
              "backing_fmt", "raw"));
      try (BlockDevice d = registry.open(storage.location("disk.toy"),
          OpenParams.defaults().withWarnings(w -> { }))) {
        for (int k : new int[] {9, 2, 7, 3}) { // whole clusters, out of order on the host
          write(d, top, k * c, c, random);
        }
        write(d, top, 4 * c + 700, 300, random); // copy-on-write inside the base
        write(d, top, 5 * c + 50, 10, random); // copy-on-write across the base's end
        write(d, top, 16 * c + 500, 7, random); // the partial last cluster
        zero(d, top, c, c); // zeros over the base's data
        zero(d, top, 10 * c, c); // zeros past the base's end
        zero(d, top, 100, 100); // part of cluster 0: copy-on-write
        d.flush();
      }
      Kind[] kinds = new Kind[17];
      for (int k = 0; k < kinds.length; k++) {
        kinds[k] = k == 1 || k == 10 ? Kind.ZERO
            : top.allocates((long) k * c) ? Kind.DATA : Kind.UNALLOCATED;
      }
      return ImageFixture.of("disk.toy", Map.of("disk.toy", storage.get("disk.toy"),
              "base.raw", base), top.content())
          .withMap(ImageFixture.clusterMap(c, top.size(), kinds))
          .withBacking("base.raw", "raw");
    }
  }

  private static void write(BlockDevice d, ChainModel.Layer top, int offset, int length,
      Random random) throws IOException {
    byte[] data = new byte[length];
    random.nextBytes(data);
    d.write(offset, ByteBuffer.wrap(data));
    top.write(offset, data);
  }

  private static void zero(BlockDevice d, ChainModel.Layer top, int offset, int length)
      throws IOException {
    d.writeZeroes(offset, length);
    top.writeZeroes(offset, length);
  }
}
