package io.blockkit.ops;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The allocation map of an image through its backing chain: {@code qemu-img map}.
 *
 * <pre>{@code
 * ImageMap.of(image).forEach(e -> System.out.println(e.start() + " " + e.depth()));
 * }</pre>
 *
 * <p>Runs are merged as qemu merges them (same depth and status, contiguous offsets). The layer
 * that allocates a run decides it and gives its depth; a run no layer allocates is not present and
 * reads zeros. For preallocated images (whose metadata calls every block data) the host file is
 * asked too, and data in its holes is reported as zero, as qemu does.
 */
public final class ImageMap {
  /** Receives the map's runs in offset order. */
  @FunctionalInterface
  public interface Visitor {
    void visit(MapEntry entry) throws IOException;
  }

  private final BlockDevice image;
  private String name;
  private long start;
  private long maxLength = Long.MAX_VALUE;
  /** Per layer: whether its host file is asked about holes (see {@link #asksHost}). */
  private final Map<BlockDevice, Boolean> recurse = new IdentityHashMap<>();

  private ImageMap(BlockDevice image) {
    this.image = Objects.requireNonNull(image, "image");
    this.name = image.location();
  }

  /** The map of the open image {@code image}. */
  public static ImageMap of(BlockDevice image) {
    return new ImageMap(image);
  }

  /** The name runs of the top image's own file carry (default its location). */
  public ImageMap name(String name) {
    this.name = Objects.requireNonNull(name, "name");
    return this;
  }

  /** Starts at this offset (default 0). */
  public ImageMap start(long offset) {
    this.start = offset;
    return this;
  }

  /** Covers at most this many bytes. */
  public ImageMap maxLength(long bytes) {
    this.maxLength = bytes;
    return this;
  }

  /**
   * Walks the range and hands {@code visitor} each merged run. An empty range (a start at or past
   * the end) gives no run.
   *
   * @throws IOException when a layer's block status fails, or what {@code visitor} throws
   */
  public void forEach(Visitor visitor) throws IOException {
    if (start < 0 || maxLength < 0) {
      throw new IllegalArgumentException("negative start or length");
    }
    long size = image.size();
    long end = maxLength >= size - Math.min(start, size) ? size : start + maxLength;
    MapEntry cur = null;
    long pos = start;
    while (pos < end) {
      MapEntry next = status(pos, end - pos);
      pos += next.length();
      if (cur != null && cur.mergeable(next)) {
        cur = cur.plus(next);
        continue;
      }
      if (cur != null) {
        visitor.visit(cur);
      }
      cur = next;
    }
    if (cur != null) {
      visitor.visit(cur);
    }
  }

  /**
   * The status of the run at {@code pos} through the chain, unmerged. With a preallocated layer,
   * data stored in a hole of the host file is reported as zero (it reads as zeros), as qemu does.
   */
  MapEntry status(long pos, long len) throws IOException {
    BackingChain.Status s = BackingChain.status(image, pos, len);
    Extent e = s.extent();
    BlockDevice layer = s.layer();
    long length = e.length();
    boolean zero = e.zero();
    long offset = e.hostOffset();
    BlockDevice host = e.host();
    if (offset < 0 && e.data() && layer.child().isEmpty()) {
      offset = e.offset(); // a protocol node's data lives at the same offset in itself
      host = layer;
    }
    if (e.data() && !zero && offset >= 0 && host != null && host != layer && asksHost(layer)) {
      long hostSize = host.size();
      if (offset >= hostSize) {
        zero = true;
      } else {
        Extent h = host.blockStatus(offset, Math.min(length, hostSize - offset));
        length = Math.min(length, h.length());
        zero = h.zero();
      }
    }
    String where = host == null || host == image ? name : host.location();
    return new MapEntry(pos, length, s.depth(), e.allocated(), zero, e.data(), offset,
        offset >= 0 ? where : null);
  }

  /**
   * Whether qemu would ask the host file about data runs (its BDRV_BLOCK_RECURSE): only for
   * preallocated images, whose metadata calls every block data although most of it may be holes
   * in the file. The SPI has no such flag, so the format-specific {@code type} tells (VDI's
   * {@code fixed}/{@code static}). A layer whose info cannot be read is not asked.
   */
  private boolean asksHost(BlockDevice layer) {
    return recurse.computeIfAbsent(layer, l -> {
      try {
        Object type = l.info().formatSpecific().get("type");
        return type != null && Set.of("fixed", "static", "preallocated")
            .contains(type.toString().toLowerCase(Locale.ROOT));
      } catch (IOException | RuntimeException e) {
        return false;
      }
    });
  }
}
