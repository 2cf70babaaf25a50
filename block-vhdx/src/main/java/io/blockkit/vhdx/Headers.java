package io.blockkit.vhdx;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The two header slots: which one is current, and updates that always overwrite the other one and
 * flush, so that a crash during an update leaves the previous header current.
 */
final class Headers {
  private static final long[] SLOTS = {Layout.HEADER1_OFFSET, Layout.HEADER2_OFFSET};

  // Written under the metadata writer's lock, read by info() and check without it.
  private volatile VhdxHeader current;
  private volatile int slot;
  /** What is wrong with the slot that is not current (null when it holds a valid header). */
  private volatile String otherProblem;

  private Headers(VhdxHeader current, int slot, String otherProblem) {
    this.current = current;
    this.slot = slot;
    this.otherProblem = otherProblem;
  }

  /**
   * Reads both slots and picks the current header: the valid one, or of two valid ones the one
   * with the higher sequence number. Two valid headers with the same sequence number are accepted
   * only when they are identical (as Disk2VHD writes them).
   *
   * @throws CorruptImageException when no header is valid, or two differ at one sequence number
   */
  static Headers read(BlockDevice file, String location) throws IOException {
    long length = file.size();
    VhdxHeader[] h = new VhdxHeader[2];
    ByteBuffer[] raw = new ByteBuffer[2];
    for (int i = 0; i < 2; i++) {
      if (length >= SLOTS[i] + Layout.HEADER_BYTES) {
        raw[i] = ByteBuffer.allocate(Layout.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        file.read(SLOTS[i], raw[i]);
        raw[i].flip();
        h[i] = VhdxHeader.parse(raw[i]);
      }
    }
    if (h[0] == null && h[1] == null) {
      throw new CorruptImageException(location, "headers (at offsets 65536 and 131072)",
          -1, "invalid in both slots", "the signature \"head\" and a matching CRC-32C in at "
              + "least one (no valid VHDX header found)");
    }
    if (h[0] != null && h[1] != null && h[0].sequence() == h[1].sequence()
        && !raw[0].equals(raw[1])) {
      throw new CorruptImageException(location, "header sequence numbers", SLOTS[0] + 8,
          "equal in both slots (" + Long.toUnsignedString(h[0].sequence()) + ") with different"
              + " contents", "one current header with a higher sequence number");
    }
    int cur = h[0] == null ? 1 : h[1] == null ? 0
        : Long.compareUnsigned(h[1].sequence(), h[0].sequence()) > 0 ? 1 : 0;
    String other = h[1 - cur] != null ? null
        : raw[1 - cur] == null ? "is past the end of the file"
        : "has a bad signature or checksum";
    return new Headers(h[cur], cur, other);
  }

  VhdxHeader current() {
    return current;
  }

  /** Null when the other slot holds a valid (older or identical) header, else what is wrong. */
  String otherSlotProblem() {
    return otherProblem;
  }

  /** Offset of the current slot, for messages. */
  long currentOffset() {
    return SLOTS[slot];
  }

  /** Writes {@code next} over the slot that is not current, flushes, and makes it current. */
  void update(BlockDevice file, VhdxHeader next) throws IOException {
    int other = 1 - slot;
    file.write(SLOTS[other], next.encode());
    file.flush();
    current = next;
    slot = other;
    otherProblem = null;
  }
}
