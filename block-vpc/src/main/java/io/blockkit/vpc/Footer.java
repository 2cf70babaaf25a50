package io.blockkit.vpc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/**
 * The 512-byte VHD footer (big-endian): at the end of every image, and copied at offset 0 of
 * dynamic and differencing ones. Parsing never fails: {@link #problem()} says what is wrong with
 * a footer, and open decides which copy to trust.
 *
 * @param raw the 512 bytes as stored
 */
record Footer(byte[] raw) {
  static final int SIZE = 512;
  static final String COOKIE = "conectix";
  static final int TYPE_FIXED = 2;
  static final int TYPE_DYNAMIC = 3;
  static final int TYPE_DIFFERENCING = 4;
  /** The data offset of a fixed disk: all ones (there is no dynamic header). */
  static final long NO_HEADER = -1L;
  static final int VERSION = 0x00010000;
  /** Features: bit 1 is "reserved, must be set". */
  static final int FEATURES = 2;
  static final int CHECKSUM_OFFSET = 64;
  /** Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC. */
  static final long VHD_EPOCH = 946684800L;

  Footer {
    if (raw.length != SIZE) {
      throw new IllegalArgumentException("a footer is 512 bytes, not " + raw.length);
    }
  }

  /** The footer in {@code b}'s next 512 bytes (which must be there). */
  static Footer read(ByteBuffer b) {
    byte[] raw = new byte[SIZE];
    b.duplicate().get(raw);
    return new Footer(raw);
  }

  private ByteBuffer buf() {
    return ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN);
  }

  boolean hasCookie() {
    return COOKIE.equals(new String(raw, 0, 8, StandardCharsets.ISO_8859_1));
  }

  int features() {
    return buf().getInt(8);
  }

  int version() {
    return buf().getInt(12);
  }

  long dataOffset() {
    return buf().getLong(16);
  }

  /** Seconds since 2000-01-01 UTC, unsigned. */
  long timestamp() {
    return Integer.toUnsignedLong(buf().getInt(24));
  }

  /** The four characters of the creator application ({@code qemu}, {@code win }, {@code tap\0}). */
  String creatorApp() {
    return new String(raw, 28, 4, StandardCharsets.ISO_8859_1);
  }

  int creatorVersion() {
    return buf().getInt(32);
  }

  String creatorOs() {
    return new String(raw, 36, 4, StandardCharsets.ISO_8859_1);
  }

  long originalSize() {
    return buf().getLong(40);
  }

  long currentSize() {
    return buf().getLong(48);
  }

  Geometry geometry() {
    ByteBuffer b = buf();
    return new Geometry(Short.toUnsignedInt(b.getShort(56)), Byte.toUnsignedInt(b.get(58)),
        Byte.toUnsignedInt(b.get(59)));
  }

  int type() {
    return buf().getInt(60);
  }

  long storedChecksum() {
    return Integer.toUnsignedLong(buf().getInt(CHECKSUM_OFFSET));
  }

  UUID uniqueId() {
    ByteBuffer b = buf();
    return new UUID(b.getLong(68), b.getLong(76));
  }

  int savedState() {
    return Byte.toUnsignedInt(raw[84]);
  }

  boolean checksumValid() {
    return storedChecksum() == checksum(raw, CHECKSUM_OFFSET);
  }

  /** Cookie and checksum both right: the footer can be trusted as a whole. */
  boolean isValid() {
    return hasCookie() && checksumValid();
  }

  /** What is wrong with the footer as a footer (cookie, checksum), or null. */
  String problem() {
    if (!hasCookie()) {
      return "has no \"conectix\" cookie";
    }
    if (!checksumValid()) {
      return "has checksum 0x" + Long.toHexString(storedChecksum()) + " where its bytes sum to 0x"
          + Long.toHexString(checksum(raw, CHECKSUM_OFFSET));
    }
    return null;
  }

  /** The disk type's name for messages and info. */
  static String typeName(int type) {
    return switch (type) {
      case TYPE_FIXED -> "fixed";
      case TYPE_DYNAMIC -> "dynamic";
      case TYPE_DIFFERENCING -> "differencing";
      default -> "type " + Integer.toUnsignedString(type);
    };
  }

  /**
   * The VHD checksum of {@code bytes}: the one's complement of the sum of every byte, the four
   * bytes of the checksum field (at {@code checksumOffset}) counted as zero.
   */
  static long checksum(byte[] bytes, int checksumOffset) {
    long sum = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (i < checksumOffset || i >= checksumOffset + 4) {
        sum += bytes[i] & 0xff;
      }
    }
    return ~sum & 0xffffffffL;
  }

  /** Stores the checksum of {@code bytes} in its field. */
  static void seal(byte[] bytes, int checksumOffset) {
    ByteBuffer.wrap(bytes).putInt(checksumOffset, (int) checksum(bytes, checksumOffset));
  }

  /** Seconds since the VHD epoch for {@code when}, as the timestamp fields store them. */
  static long timestampOf(Instant when) {
    return Math.max(0, Math.min(0xffffffffL, when.getEpochSecond() - VHD_EPOCH));
  }

  /** Everything a new footer says. */
  record Fields(long dataOffset, long timestamp, String creatorApp, int creatorVersion,
      String creatorOs, long size, Geometry geometry, int type, UUID uniqueId) {}

  /** A footer with {@code f}'s fields and a valid checksum. */
  static Footer of(Fields f) {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.BIG_ENDIAN);
    b.put(0, COOKIE.getBytes(StandardCharsets.ISO_8859_1));
    b.putInt(8, FEATURES);
    b.putInt(12, VERSION);
    b.putLong(16, f.dataOffset());
    b.putInt(24, (int) f.timestamp());
    b.put(28, f.creatorApp().getBytes(StandardCharsets.ISO_8859_1));
    b.putInt(32, f.creatorVersion());
    b.put(36, f.creatorOs().getBytes(StandardCharsets.ISO_8859_1));
    b.putLong(40, f.size());
    b.putLong(48, f.size());
    b.putShort(56, (short) f.geometry().cylinders());
    b.put(58, (byte) f.geometry().heads());
    b.put(59, (byte) f.geometry().sectorsPerTrack());
    b.putInt(60, f.type());
    b.putLong(68, f.uniqueId().getMostSignificantBits());
    b.putLong(76, f.uniqueId().getLeastSignificantBits());
    byte[] raw = b.array();
    seal(raw, CHECKSUM_OFFSET);
    return new Footer(raw);
  }

  /** This footer's bytes with the checksum recomputed (for a repair of the checksum alone). */
  Footer resealed() {
    byte[] copy = raw.clone();
    seal(copy, CHECKSUM_OFFSET);
    return new Footer(copy);
  }

  ByteBuffer encode() {
    return ByteBuffer.wrap(raw.clone());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Footer f && java.util.Arrays.equals(raw, f.raw);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(raw);
  }

  @Override
  public String toString() {
    return "Footer[" + typeName(type()) + ", " + currentSize() + " bytes, " + creatorApp() + "]";
  }
}
