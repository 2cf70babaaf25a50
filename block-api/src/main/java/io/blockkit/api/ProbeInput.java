package io.blockkit.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a driver sees when asked whether an image is its own: the image's first and last bytes.
 * The tail lets footer-only formats (a fixed VHD, a DMG) be recognised.
 *
 * @param head the first {@code min(length, BlockDriver.PROBE_SIZE)} bytes of the image, read-only,
 *     position 0; it may be shorter than any header (empty, 1 byte, 511 bytes)
 * @param tail the last {@code min(length, BlockDriver.PROBE_TAIL_SIZE)} bytes of the image, or an
 *     empty buffer when they were not read; it may overlap {@code head} for short images
 * @param length the image's total length in bytes
 * @param fileName the image's name (may be empty, never null); a hint only, never decisive
 */
public record ProbeInput(ByteBuffer head, ByteBuffer tail, long length, String fileName) {
  public ProbeInput {
    Objects.requireNonNull(head, "head");
    Objects.requireNonNull(tail, "tail");
    Objects.requireNonNull(fileName, "fileName");
    head = head.asReadOnlyBuffer().order(ByteOrder.BIG_ENDIAN);
    tail = tail.asReadOnlyBuffer().order(ByteOrder.BIG_ENDIAN);
    if (tail.limit() > length) {
      throw new IllegalArgumentException("tail of " + tail.limit() + " bytes is longer than the "
          + length + "-byte image");
    }
  }

  /**
   * Probe input from the head alone. When the head holds the whole image the tail is taken from
   * it; otherwise the tail is empty (footer-only formats are then not recognised).
   */
  public ProbeInput(ByteBuffer head, long length, String fileName) {
    this(head, tailOf(head, length), length, fileName);
  }

  private static ByteBuffer tailOf(ByteBuffer head, long length) {
    if (head.remaining() < length) {
      return ByteBuffer.allocate(0);
    }
    ByteBuffer t = head.duplicate();
    int n = (int) Math.min(length, BlockDriver.PROBE_TAIL_SIZE);
    t.position(t.limit() - n);
    return t.slice();
  }

  /** Number of head bytes available. */
  public int available() {
    return head.limit();
  }

  /** Image offset of the tail's first byte. */
  public long tailOffset() {
    return length - tail.limit();
  }

  /** Little-endian u32 at {@code offset} of the head, or -1 when the bytes are not there. */
  public long u32le(int offset) {
    if (!inHead(offset, 4)) {
      return -1;
    }
    return Integer.toUnsignedLong(head.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(offset));
  }

  /** Big-endian u32 at {@code offset} of the head, or -1 when the bytes are not there. */
  public long u32be(int offset) {
    return inHead(offset, 4) ? Integer.toUnsignedLong(head.getInt(offset)) : -1;
  }

  /** True when the head holds {@code magic} (ASCII/ISO-8859-1 characters) at {@code offset}. */
  public boolean headHas(int offset, String magic) {
    return matches(head, offset, magic.getBytes(StandardCharsets.ISO_8859_1));
  }

  /**
   * The last {@code n} bytes of the image (a footer) as a big-endian buffer of its own, or null
   * when the tail holds fewer bytes.
   */
  public ByteBuffer footer(int n) {
    if (n < 0 || n > tail.limit()) {
      return null;
    }
    ByteBuffer f = tail.duplicate();
    f.position(tail.limit() - n);
    return f.slice().order(ByteOrder.BIG_ENDIAN);
  }

  private boolean inHead(int offset, int n) {
    return offset >= 0 && offset <= head.limit() - n;
  }

  private static boolean matches(ByteBuffer b, int offset, byte[] magic) {
    if (offset < 0 || offset > b.limit() - magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if (b.get(offset + i) != magic[i]) {
        return false;
      }
    }
    return true;
  }
}
