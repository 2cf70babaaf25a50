package io.blockkit.api;

/**
 * One run of bytes with the same allocation status, as {@link BlockDevice#blockStatus} reports it
 * (QEMU's block-status semantics).
 *
 * @param offset virtual start of the run
 * @param length its length, at least 1 byte, never past the end of the image
 * @param data reading the run returns data stored in this layer's child (QEMU's DATA)
 * @param zero the run reads as zeros (QEMU's ZERO); may be set together with {@code data}
 * @param allocated this layer itself decides the content (true for base images, where nothing is
 *     inherited); false means a backing image would supply it
 * @param hostOffset where the run starts in {@code host}, or -1 when there is no such offset
 * @param host the node that holds the run's data at {@code hostOffset}, or null: for a DATA run
 *     that is not ZERO, reading {@code host} there must give exactly the bytes reading this run
 *     gives (convert copies such runs straight from the host's file), so a driver whose bytes
 *     are transformed on the way (compressed, or changed by a log replayed in memory) names no
 *     host
 */
public record Extent(long offset, long length, boolean data, boolean zero, boolean allocated,
    long hostOffset, BlockDevice host) {

  public Extent {
    if (offset < 0 || length <= 0) {
      throw new IllegalArgumentException("bad extent " + offset + "+" + length);
    }
  }

  /** A run that reads as zeros and stores nothing. */
  public static Extent zero(long offset, long length) {
    return new Extent(offset, length, false, true, true, -1, null);
  }

  /** A run of data stored at {@code hostOffset} in {@code host}. */
  public static Extent data(long offset, long length, long hostOffset, BlockDevice host) {
    return new Extent(offset, length, true, false, true, hostOffset, host);
  }

  public boolean hasHostOffset() {
    return hostOffset >= 0;
  }

  /**
   * Whether reading {@link #host} at {@link #hostOffset} gives exactly this run's bytes: a data
   * run that is not zero and names both (the contract of {@code host}).
   */
  public boolean hostHoldsBytes() {
    return data && !zero && hasHostOffset() && host != null;
  }

  public long end() {
    return offset + length;
  }

  /** The same status over a shorter or later range, keeping host offsets consistent. */
  public Extent slice(long newOffset, long newLength) {
    long delta = newOffset - offset;
    if (delta < 0 || newLength <= 0 || delta + newLength > length) {
      throw new IllegalArgumentException("slice outside extent");
    }
    return new Extent(newOffset, newLength, data, zero, allocated,
        hostOffset >= 0 ? hostOffset + delta : -1, host);
  }

  /** True when {@code next} continues this run with the same status (and contiguous host data). */
  public boolean canMerge(Extent next) {
    return next.offset == end() && next.data == data && next.zero == zero
        && next.allocated == allocated && next.host == host
        && (hostOffset < 0 ? next.hostOffset < 0 : next.hostOffset == hostOffset + length);
  }

  /** This run followed by {@code next}; {@link #canMerge} must be true. */
  public Extent merge(Extent next) {
    return new Extent(offset, length + next.length, data, zero, allocated, hostOffset, host);
  }
}
