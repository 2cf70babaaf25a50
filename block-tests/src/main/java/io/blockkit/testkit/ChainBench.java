package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.util.BitSet;
import java.util.Map;

/**
 * Where {@link ChainConformanceTest} builds its chains and checks them: images of the format
 * under test and raw bases side by side in one {@link Storage} folder, created and opened through
 * the registry, compared with a {@link ChainModel}.
 */
final class ChainBench {
  private final ChainConformanceTest test;
  final BlockRegistry registry;
  final Storage storage;

  ChainBench(ChainConformanceTest test, BlockRegistry registry, Storage storage) {
    this.test = test;
    this.registry = registry;
    this.storage = storage;
  }

  int cluster() {
    return test.naturalBlockSize();
  }

  String top() {
    return "top." + test.driver().name();
  }

  /** The file name of a base image called {@code stem}: {@code stem.raw} by default. */
  String base(String stem) {
    return stem + "." + test.baseFormat();
  }

  /**
   * Stores a base image {@code name} of {@code size} bytes drawn from {@code lo..hi}: raw bytes,
   * or an image of {@link ChainConformanceTest#baseFormat} holding them. Returns its content, up
   * to the size the image really has (a format may round it up; the rest reads zeros).
   */
  byte[] rawBase(String name, int size, int lo, int hi) throws IOException {
    byte[] content = test.randomBytes(size, lo, hi);
    String format = test.baseFormat();
    if (format.equals("raw")) {
      storage.put(name, content);
      return content;
    }
    registry.create(storage.location(name), format, Map.of("size", Long.toString(size)));
    try (BlockDevice d = registry.open(storage.location(name), OpenParams.defaults()
        .withFormat(format).withWarnings(w -> { }))) {
      KitSupport.writeAll(d, 0, content);
      d.flush();
      return java.util.Arrays.copyOf(content, Math.toIntExact(d.size()));
    }
  }

  void createOverlay(String name, long size, String backingName, String backingFormat)
      throws IOException {
    registry.create(storage.location(name), test.driver().name(),
        test.overlayOptions(size, backingName, backingFormat));
  }

  OpenParams params(boolean readOnly, Map<String, String> options) {
    return OpenParams.defaults().withFormat(test.driver().name()).withReadOnly(readOnly)
        .withOptions(options).withWarnings(w -> { });
  }

  /** Opens {@code name} until the end of the test (or an earlier close). */
  BlockDevice open(String name, boolean readOnly) throws IOException {
    return test.closeAfterTest(registry.open(storage.location(name), params(readOnly, Map.of())));
  }

  /** A check of an open image. */
  interface Check {
    void on(BlockDevice d) throws IOException;
  }

  /** Opens {@code name}, checks it and closes it again (a host file takes one writer at a time). */
  void reopened(String name, boolean readOnly, Map<String, String> options, Check check)
      throws IOException {
    try (BlockDevice d = registry.open(storage.location(name), params(readOnly, options))) {
      check.on(d);
    }
  }

  /** A raw base of {@code clusters} clusters (bytes 1..127) under a same-sized overlay. */
  ChainModel simpleChain(int clusters) throws IOException {
    int size = clusters * cluster();
    ChainModel model = new ChainModel(cluster(), rawBase(base("base"), size, 1, 127));
    createOverlay(top(), size, base("base"), test.baseFormat());
    model.overlay(size);
    return model;
  }

  /** The top reads as the model says, and every byte is decided at the model's depth. */
  void assertChainMatches(BlockDevice top, ChainModel model, String what)
      throws IOException {
    byte[] content = model.top().content();
    test.assertImageEquals(content, top, what);
    assertEquals(model.depthCount(), BackingChain.layers(top).size(), what + ": images in chain");
    long pos = 0;
    while (pos < top.size()) {
      BackingChain.Status s = BackingChain.status(top, pos, top.size() - pos);
      Extent e = s.extent();
      assertEquals(pos, e.offset(), what + ": run start");
      assertTrue(e.end() <= top.size(), what + ": run " + e + " past the end");
      for (long p = pos; p < e.end(); p++) {
        if (model.depth(p) != s.depth()) {
          fail(what + ": byte " + p + " is decided at depth " + s.depth() + " (run " + e.offset()
              + "+" + e.length() + " of " + s.layer().location() + "), the model says depth "
              + model.depth(p) + test.seedNote());
        }
        if (content[(int) p] != 0 && (e.zero() || !e.data())) {
          fail(what + ": byte " + p + " holds data but its run " + e + " says otherwise"
              + test.seedNote());
        }
      }
      pos = e.end();
    }
  }

  /**
   * With the backing dropped ({@code backing=null}), the clusters the top allocates still read
   * as the model says and the others read zeros: what the top copied on write is its own.
   */
  void assertDetachedReads(String name, ChainModel.Layer top, String what)
      throws IOException {
    byte[] expected = top.content();
    for (int p = 0; p < expected.length; p++) {
      if (!top.allocates(p)) {
        expected[p] = 0;
      }
    }
    reopened(name, true, Map.of("backing", "null"), detached -> {
      assertTrue(detached.backing().isEmpty(), "backing=null still opened a backing");
      test.assertImageEquals(expected, detached, what + ", read with backing=null");
    });
  }

  /** Each byte of {@code got} equals {@code a} or {@code b} there. */
  void assertEachByteIsOneOf(byte[] got, byte[] a, byte[] b, String what) {
    for (int p = 0; p < got.length; p++) {
      if (got[p] != a[p] && got[p] != b[p]) {
        fail(what + ": byte " + p + " reads " + (got[p] & 0xff) + ", expected " + (a[p] & 0xff)
            + (a[p] != b[p] ? " or " + (b[p] & 0xff) : "") + test.seedNote());
      }
    }
  }

  /**
   * Random writes and zero writes into about half of the layer's clusters, always leaving one of
   * the first four alone, so that every layer of a chain shows through somewhere.
   */
  void randomOps(BlockDevice d, ChainModel.Layer layer, int count) throws IOException {
    int c = cluster();
    int clusters = (layer.size() + c - 1) / c;
    BitSet touched = new BitSet();
    for (int k = 0; k < clusters; k++) {
      touched.set(k, test.random().nextBoolean());
    }
    touched.clear(test.random().nextInt(Math.min(4, clusters)));
    if (touched.isEmpty()) {
      touched.set(clusters - 1);
    }
    for (int i = 0; i < count; i++) {
      int k = touched.nextSetBit(test.random().nextInt(clusters));
      k = k < 0 ? touched.nextSetBit(0) : k;
      int off = k * c + test.random().nextInt(c);
      int end = Math.min(layer.size(), (touched.get(k + 1) ? k + 2 : k + 1) * c);
      if (off >= end) {
        continue; // inside the partial last cluster, past the end
      }
      int len = 1 + test.random().nextInt(end - off);
      if (test.random().nextInt(10) < 7) {
        byte[] data = test.randomBytes(len, 128, 255);
        KitSupport.writeAll(d, off, data);
        layer.write(off, data);
      } else {
        d.writeZeroes(off, len);
        layer.writeZeroes(off, len);
      }
    }
  }
}
