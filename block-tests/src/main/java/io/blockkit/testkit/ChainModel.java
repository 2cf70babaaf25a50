package io.blockkit.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * What a backing chain must read as and at which depth each byte is decided, kept independently
 * of any driver: the oracle of {@link ChainConformanceTest}, and a way for fixture authors to
 * compute an image's expected content and map instead of copying it from the driver's output.
 *
 * <p>The model follows the device contract: every write or zero write a layer receives allocates
 * the clusters it touches in that layer (a partial write copies the rest of the cluster
 * from below first), an unallocated cluster reads what the layer below reads there, and past the
 * end of a shorter layer below the chain reads zeros decided by the layer above ({@code qemu-img
 * map}'s depths, as {@link io.blockkit.api.BackingChain#status} reports them).
 */
public final class ChainModel {
  private final int cluster;
  private final List<Layer> layers = new ArrayList<>(); // the bottom first

  /** One image of the chain. */
  public static final class Layer {
    private final byte[] own;
    private final BitSet allocated = new BitSet();
    private final int cluster;
    private final Layer below;

    private Layer(byte[] own, int cluster, Layer below) {
      this.own = own;
      this.cluster = cluster;
      this.below = below;
    }

    /** Its virtual size. */
    public int size() {
      return own.length;
    }

    /** What this layer reads as, through the layers below it. */
    public byte[] content() {
      byte[] out = new byte[own.length];
      for (int p = 0; p < out.length; p++) {
        out[p] = read(p);
      }
      return out;
    }

    private byte read(int pos) {
      if (allocates(pos)) {
        return own[pos];
      }
      return below != null && pos < below.size() ? below.read(pos) : 0;
    }

    /** True when this layer decides the cluster holding {@code pos}. */
    public boolean allocates(long pos) {
      return allocated.get((int) (pos / cluster));
    }

    /** A write of {@code data} at {@code offset}. */
    public void write(int offset, byte[] data) {
      copyOnWrite(offset, data.length);
      System.arraycopy(data, 0, own, offset, data.length);
    }

    /** A zero write of {@code length} bytes at {@code offset}. */
    public void writeZeroes(int offset, int length) {
      copyOnWrite(offset, length);
      Arrays.fill(own, offset, offset + length, (byte) 0);
    }

    /** Allocates the clusters the range touches, each holding what it read as until now. */
    private void copyOnWrite(int offset, int length) {
      if (length == 0) {
        return;
      }
      for (int c = offset / cluster; c <= (offset + length - 1) / cluster; c++) {
        if (!allocated.get(c)) {
          for (int p = c * cluster; p < Math.min(own.length, (c + 1) * cluster); p++) {
            own[p] = read(p);
          }
          allocated.set(c);
        }
      }
    }
  }

  /**
   * A chain whose layers allocate in units of {@code cluster} bytes, with a base image of the
   * given content (a raw image, or a format image that decides every byte itself).
   */
  public ChainModel(int cluster, byte[] base) {
    this.cluster = cluster;
    Layer b = new Layer(base.clone(), cluster, null);
    b.allocated.set(0, Math.max(1, (base.length + cluster - 1) / cluster));
    layers.add(b);
  }

  /** Adds an overlay of {@code size} bytes, nothing allocated, on top; returns it. */
  public Layer overlay(int size) {
    Layer l = new Layer(new byte[size], cluster, top());
    layers.add(l);
    return l;
  }

  /** The top image. */
  public Layer top() {
    return layers.get(layers.size() - 1);
  }

  /** The number of images, the top's depth being 0 and the base's this minus 1. */
  public int depthCount() {
    return layers.size();
  }

  /**
   * The depth that decides byte {@code pos} of the top image: the first layer from the top that
   * allocates it; past the end of a shorter layer, the layer just above that end.
   */
  public int depth(long pos) {
    long limit = Long.MAX_VALUE;
    for (int depth = 0; depth < layers.size(); depth++) {
      Layer l = layers.get(layers.size() - 1 - depth);
      if (pos >= Math.min(limit, l.size())) {
        return Math.max(0, depth - 1);
      }
      limit = Math.min(limit, l.size());
      if (l.allocates(pos)) {
        return depth;
      }
    }
    return layers.size() - 1;
  }
}
