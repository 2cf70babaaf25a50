package io.blockkit.vhdx;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * VHDX's checksum: CRC-32C (Castagnoli) over a whole structure whose own 4-byte checksum field
 * counts as zero.
 */
final class Checksums {
  private static final byte[] ZERO_FIELD = new byte[4];

  private Checksums() {}

  /**
   * The CRC-32C of {@code b}'s bytes from 0 to its limit, with the four bytes at {@code field}
   * taken as zero.
   */
  static int of(ByteBuffer b, int field) {
    CRC32C crc = new CRC32C();
    ByteBuffer d = b.duplicate();
    d.position(0).limit(field);
    crc.update(d);
    crc.update(ZERO_FIELD);
    d.limit(b.limit()).position(field + 4);
    crc.update(d);
    return (int) crc.getValue();
  }

  /** Whether the checksum stored at {@code field} (little-endian) matches the structure. */
  static boolean valid(ByteBuffer b, int field) {
    return b.getInt(field) == of(b, field);
  }

  /** Stores the structure's checksum at {@code field}. */
  static void seal(ByteBuffer b, int field) {
    b.putInt(field, 0);
    b.putInt(field, of(b, field));
  }
}
