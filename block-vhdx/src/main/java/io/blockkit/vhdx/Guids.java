package io.blockkit.vhdx;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.UUID;

/**
 * GUIDs as VHDX stores them: Microsoft's binary form, whose first three fields are little-endian
 * and whose last eight bytes keep their text order. {@code 2DC27766-F623-...} is stored as {@code
 * 66 77 C2 2D 23 F6 ...}.
 */
final class Guids {
  static final UUID NULL = new UUID(0, 0);
  private static final SecureRandom RANDOM = new SecureRandom();

  private Guids() {}

  /** The GUID stored at {@code offset} of {@code b} (any byte order). */
  static UUID get(ByteBuffer b, int offset) {
    long msb = 0;
    int[] order = {3, 2, 1, 0, 5, 4, 7, 6};
    for (int i : order) {
      msb = (msb << 8) | (b.get(offset + i) & 0xff);
    }
    long lsb = 0;
    for (int i = 8; i < 16; i++) {
      lsb = (lsb << 8) | (b.get(offset + i) & 0xff);
    }
    return new UUID(msb, lsb);
  }

  /** Stores {@code guid} at {@code offset} of {@code b}. */
  static void put(ByteBuffer b, int offset, UUID guid) {
    long msb = guid.getMostSignificantBits();
    int[] order = {3, 2, 1, 0, 5, 4, 7, 6};
    for (int k = 0; k < 8; k++) {
      b.put(offset + order[k], (byte) (msb >>> (56 - 8 * k)));
    }
    long lsb = guid.getLeastSignificantBits();
    for (int k = 0; k < 8; k++) {
      b.put(offset + 8 + k, (byte) (lsb >>> (56 - 8 * k)));
    }
  }

  /** A fresh random GUID, never the null one. */
  static UUID random() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    bytes[6] = (byte) ((bytes[6] & 0x0f) | 0x40); // version 4
    bytes[8] = (byte) ((bytes[8] & 0x3f) | 0x80); // IETF variant
    ByteBuffer b = ByteBuffer.wrap(bytes);
    return new UUID(b.getLong(), b.getLong());
  }

  /** The parent locator's text form: lower case, in braces. */
  static String braced(UUID guid) {
    return "{" + guid.toString().toLowerCase(Locale.ROOT) + "}";
  }

  /** A GUID in the parent locator's text form (braces, any case), or null if it is not one. */
  static UUID parseBraced(String text) {
    if (text == null || text.length() != 38 || text.charAt(0) != '{' || text.charAt(37) != '}') {
      return null;
    }
    String inner = text.substring(1, 37);
    try {
      UUID u = UUID.fromString(inner);
      return u.toString().equalsIgnoreCase(inner) ? u : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
