package io.blockkit.api;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * What a driver sees when asked whether an image is its own.
 *
 * @param head the first {@code min(length, BlockDriver.PROBE_SIZE)} bytes of the image, read-only,
 *     position 0; it may be shorter than any header (empty, 1 byte, 511 bytes)
 * @param length the image's total length in bytes
 * @param fileName the image's name (may be empty, never null); a hint only, never decisive
 */
public record ProbeInput(ByteBuffer head, long length, String fileName) {
  public ProbeInput {
    Objects.requireNonNull(head, "head");
    Objects.requireNonNull(fileName, "fileName");
    head = head.asReadOnlyBuffer().order(java.nio.ByteOrder.BIG_ENDIAN);
  }

  /** Number of probe bytes available. */
  public int available() {
    return head.limit();
  }

  /** Little-endian u32 at {@code offset}, or -1 when the bytes are not there. */
  public long u32le(int offset) {
    if (offset < 0 || offset + 4 > head.limit()) {
      return -1;
    }
    return (head.get(offset) & 0xffL) | (head.get(offset + 1) & 0xffL) << 8
        | (head.get(offset + 2) & 0xffL) << 16 | (head.get(offset + 3) & 0xffL) << 24;
  }
}
