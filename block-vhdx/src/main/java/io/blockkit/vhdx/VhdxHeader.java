package io.blockkit.vhdx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;

/**
 * One of the two 4 KiB headers (at 64 KiB and 128 KiB). The current one is the valid one with
 * the higher sequence number; the other is overwritten by the next update, so that a torn write
 * leaves the previous header in force. Headers are never written through the log.
 */
record VhdxHeader(long sequence, UUID fileWriteGuid, UUID dataWriteGuid, UUID logGuid,
    int logVersion, int version, long logLength, long logOffset) {

  static final int SIGNATURE = 0x64616568; // "head"
  static final int CHECKSUM_FIELD = 4;

  /** The header at {@code b} (4 KiB, little-endian), or null when its signature or checksum fails. */
  static VhdxHeader parse(ByteBuffer b) {
    if (b.limit() < Layout.HEADER_BYTES || b.getInt(0) != SIGNATURE
        || !Checksums.valid(b, CHECKSUM_FIELD)) {
      return null;
    }
    return new VhdxHeader(b.getLong(8), Guids.get(b, 16), Guids.get(b, 32), Guids.get(b, 48),
        Short.toUnsignedInt(b.getShort(64)), Short.toUnsignedInt(b.getShort(66)),
        Integer.toUnsignedLong(b.getInt(68)), b.getLong(72));
  }

  /** The 4 KiB encoding, checksum included. */
  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(Layout.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, SIGNATURE);
    b.putLong(8, sequence);
    Guids.put(b, 16, fileWriteGuid);
    Guids.put(b, 32, dataWriteGuid);
    Guids.put(b, 48, logGuid);
    b.putShort(64, (short) logVersion);
    b.putShort(66, (short) version);
    b.putInt(68, (int) logLength);
    b.putLong(72, logOffset);
    Checksums.seal(b, CHECKSUM_FIELD);
    return b;
  }

  boolean hasLog() {
    return !logGuid.equals(Guids.NULL);
  }

  /** The next version of this header: sequence + 1 and the given GUIDs. */
  VhdxHeader next(UUID fileWrite, UUID dataWrite, UUID log) {
    return new VhdxHeader(sequence + 1, fileWrite, dataWrite, log, logVersion, version,
        logLength, logOffset);
  }
}
