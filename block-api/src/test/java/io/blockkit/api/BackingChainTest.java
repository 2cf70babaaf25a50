package io.blockkit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link BackingChain} and {@link AbstractBlockDevice#readBacking} against a model: layers of
 * 512-byte clusters, each unallocated, zero or data, over backings of any size.
 */
class BackingChainTest {
  static final int CLUSTER = 512;

  /** One layer: per cluster 0 = unallocated, 1 = zero, 2+ = data filled with that byte. */
  static final class Layer extends AbstractBlockDevice {
    static final BlockDriver DRIVER = new BlockDriver() {
      @Override
      public String name() {
        return "layer";
      }

      @Override
      public DriverKind kind() {
        return DriverKind.FORMAT;
      }

      @Override
      public String description() {
        return "model layer";
      }

      @Override
      public Set<DriverFeature> features() {
        return Set.of(DriverFeature.BACKING);
      }

      @Override
      public BlockDevice open(OpenRequest request) {
        throw new UnsupportedOperationException();
      }
    };

    final int[] clusters;
    final boolean base;

    Layer(int[] clusters, BlockDevice backing, boolean unallocatedIsAllocatedZero) {
      super(DRIVER, "layer", true, null, backing);
      this.clusters = clusters;
      this.base = unallocatedIsAllocatedZero;
    }

    @Override
    public long size() {
      return (long) clusters.length * CLUSTER;
    }

    @Override
    public Set<Capability> capabilities() {
      return EnumSet.of(Capability.BLOCK_STATUS);
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
      while (dst.hasRemaining()) {
        int c = (int) (offset / CLUSTER);
        int n = (int) Math.min(dst.remaining(), (c + 1L) * CLUSTER - offset);
        ByteBuffer part = dst.slice();
        part.limit(n);
        if (clusters[c] == 0) {
          readBacking(offset, part);
        } else {
          while (part.hasRemaining()) {
            part.put((byte) (clusters[c] == 1 ? 0 : clusters[c]));
          }
        }
        dst.position(dst.position() + n);
        offset += n;
      }
    }

    @Override
    protected Extent doBlockStatus(long offset, long length) {
      int c = (int) (offset / CLUSTER);
      long len = Math.min(length, (c + 1L) * CLUSTER - offset);
      int v = clusters[c];
      if (v == 0) {
        // A base format may call unallocated clusters its own zeros (as VDI does), or not.
        return new Extent(offset, len, false, true, base && backing().isEmpty(), -1, null);
      }
      return new Extent(offset, len, v >= 2, v == 1, true, -1, null);
    }
  }

  /** What the model says byte {@code pos} reads as, and at which depth it is decided. */
  static int[] model(List<int[]> layers, long pos) {
    long limit = Long.MAX_VALUE;
    for (int depth = 0; depth < layers.size(); depth++) {
      int[] l = layers.get(depth);
      if (pos >= Math.min(limit, (long) l.length * CLUSTER)) {
        return new int[] {0, Math.max(0, depth - 1)};
      }
      limit = Math.min(limit, (long) l.length * CLUSTER);
      int v = l[(int) (pos / CLUSTER)];
      if (v != 0) {
        return new int[] {v == 1 ? 0 : v, depth};
      }
    }
    return new int[] {0, layers.size() - 1};
  }

  static BlockDevice build(List<int[]> layers, boolean baseAllocates) {
    BlockDevice below = null;
    for (int i = layers.size() - 1; i >= 0; i--) {
      below = new Layer(layers.get(i), below, baseAllocates);
    }
    return below;
  }

  @Property(tries = 200)
  void readsAndDepthsMatchTheModel(@ForAll @IntRange(min = 1, max = 4) int depthCount,
      @ForAll long seed) throws IOException {
    java.util.Random r = new java.util.Random(seed);
    List<int[]> layers = new ArrayList<>();
    int topClusters = 1 + r.nextInt(12);
    for (int i = 0; i < depthCount; i++) {
      int n = i == 0 ? topClusters : 1 + r.nextInt(16); // backings may be shorter or longer
      int[] l = new int[n];
      for (int c = 0; c < n; c++) {
        int k = r.nextInt(4);
        l[c] = k == 0 || k == 1 ? 0 : k == 2 ? 1 : 2 + r.nextInt(200);
      }
      layers.add(l);
    }
    try (BlockDevice top = build(layers, false)) {
      assertEquals(depthCount, BackingChain.layers(top).size());
      ByteBuffer all = ByteBuffer.allocate((int) top.size());
      top.read(0, all);
      for (int pos = 0; pos < top.size(); pos++) {
        assertEquals((byte) model(layers, pos)[0], all.get(pos), "byte " + pos);
      }
      long pos = 0;
      while (pos < top.size()) {
        BackingChain.Status s = BackingChain.status(top, pos, top.size() - pos);
        assertEquals(pos, s.extent().offset());
        int[] m = model(layers, pos);
        assertEquals(m[1], s.depth(), "depth at " + pos);
        if (m[0] != 0) {
          assertTrue(s.extent().allocated() && s.extent().data(), "data at " + pos);
        }
        for (long p = pos; p < s.extent().end(); p++) {
          assertEquals(m[0], model(layers, p)[0], "one run, one content, at " + p);
        }
        pos = s.extent().end();
      }
    }
  }

  @Test
  void aRunPastTheEndOfAShorterBackingIsZeroAndDecidedAbove() throws IOException {
    BlockDevice top = build(List.of(new int[] {0, 0, 0, 0}, new int[] {5}), false);
    BackingChain.Status first = BackingChain.status(top, 0, top.size());
    assertEquals(1, first.depth());
    assertEquals(CLUSTER, first.extent().length());
    BackingChain.Status past = BackingChain.status(top, CLUSTER, top.size() - CLUSTER);
    assertEquals(0, past.depth());
    assertTrue(past.extent().zero());
    assertFalse(past.extent().allocated(), "qemu's present: false");
    assertEquals(CLUSTER, past.extent().length()); // the layer above answers a cluster at a time
  }

  @Test
  void unallocatedEverywhereIsDecidedAtTheBottom() throws IOException {
    BlockDevice top = build(List.of(new int[] {0}, new int[] {0}, new int[] {0}), false);
    BackingChain.Status s = BackingChain.status(top, 0, CLUSTER);
    assertEquals(2, s.depth());
    assertFalse(s.extent().allocated());
    assertTrue(s.extent().zero());
  }
}
