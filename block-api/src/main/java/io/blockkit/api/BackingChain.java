package io.blockkit.api;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Walks a backing chain: which layer decides a range's content, and at what depth, as {@code
 * qemu-img map} reports it.
 */
public final class BackingChain {
  private BackingChain() {}

  /**
   * The status of a run as the whole chain sees it.
   *
   * @param extent the run's status in the layer that decides it (its offset and length are the
   *     run's); {@code allocated} false means no layer allocates it (qemu's {@code present: false})
   * @param depth 0 for the top image, 1 for its backing, and so on
   * @param layer the image that decides the run; for a run past the end of a shorter backing, the
   *     layer above it
   */
  public record Status(Extent extent, int depth, BlockDevice layer) {}

  /** The images of the chain, the top first. */
  public static List<BlockDevice> layers(BlockDevice top) {
    List<BlockDevice> out = new ArrayList<>();
    for (Optional<BlockDevice> d = Optional.of(top); d.isPresent(); d = d.get().backing()) {
      out.add(d.get());
    }
    return out;
  }

  /**
   * The status of the run starting at {@code offset} (at most {@code length} bytes) through the
   * chain: a layer that allocates the run decides it; otherwise its backing is asked for the same
   * run, down to the bottom. A run past the end of a shorter backing reads as zeros and is
   * decided by the layer above it, as in qemu.
   *
   * @throws IOException when a layer's block status fails
   */
  public static Status status(BlockDevice top, long offset, long length) throws IOException {
    BlockDevice layer = top;
    int depth = 0;
    long len = length;
    while (true) {
      Extent e = layer.blockStatus(offset, len);
      Optional<BlockDevice> below = layer.backing();
      if (e.allocated() || below.isEmpty()) {
        return new Status(e, depth, layer);
      }
      long belowSize = below.get().size();
      if (offset >= belowSize) {
        return new Status(new Extent(offset, e.length(), false, true, false, -1, null), depth,
            layer);
      }
      len = Math.min(e.length(), belowSize - offset);
      layer = below.get();
      depth++;
    }
  }
}
