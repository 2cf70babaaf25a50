package io.blockkit.vpc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The 1024-byte dynamic disk header (big-endian) of dynamic and differencing images, at the
 * footer's data offset: where the BAT is, how many entries it has, the block size, and for a
 * differencing image its parent's identity and locators. Parsing never fails; {@link
 * io.blockkit.vpc.VpcFile} validates the fields against the file.
 *
 * @param raw the 1024 bytes as stored
 */
record DynamicHeader(byte[] raw) {
  static final int SIZE = 1024;
  static final String COOKIE = "cxsparse";
  static final int CHECKSUM_OFFSET = 36;
  static final int VERSION = 0x00010000;
  static final int PARENT_NAME_OFFSET = 64;
  static final int PARENT_NAME_BYTES = 512;
  static final int LOCATORS_OFFSET = 576;
  static final int LOCATOR_SIZE = 24;
  static final int LOCATORS = 8;
  /** An unallocated BAT entry. */
  static final int UNALLOCATED = -1;

  DynamicHeader {
    if (raw.length != SIZE) {
      throw new IllegalArgumentException("a dynamic header is 1024 bytes, not " + raw.length);
    }
  }

  static DynamicHeader read(ByteBuffer b) {
    byte[] raw = new byte[SIZE];
    b.duplicate().get(raw);
    return new DynamicHeader(raw);
  }

  private ByteBuffer buf() {
    return ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN);
  }

  boolean hasCookie() {
    return COOKIE.equals(new String(raw, 0, 8, StandardCharsets.ISO_8859_1));
  }

  long tableOffset() {
    return buf().getLong(16);
  }

  int version() {
    return buf().getInt(24);
  }

  /** BAT entries, unsigned. */
  long maxTableEntries() {
    return Integer.toUnsignedLong(buf().getInt(28));
  }

  /** Block size in bytes, unsigned. */
  long blockSize() {
    return Integer.toUnsignedLong(buf().getInt(32));
  }

  long storedChecksum() {
    return Integer.toUnsignedLong(buf().getInt(CHECKSUM_OFFSET));
  }

  boolean checksumValid() {
    return storedChecksum() == Footer.checksum(raw, CHECKSUM_OFFSET);
  }

  UUID parentId() {
    ByteBuffer b = buf();
    return new UUID(b.getLong(40), b.getLong(48));
  }

  long parentTimestamp() {
    return Integer.toUnsignedLong(buf().getInt(56));
  }

  /** The parent's name as the header stores it (UTF-16BE up to the first NUL), or "". */
  String parentName() {
    String s = new String(raw, PARENT_NAME_OFFSET, PARENT_NAME_BYTES, StandardCharsets.UTF_16BE);
    int nul = s.indexOf('\0');
    return nul >= 0 ? s.substring(0, nul) : s;
  }

  /** The eight locator entries, unused ones included. */
  List<ParentLocator> locators() {
    ByteBuffer b = buf();
    List<ParentLocator> out = new ArrayList<>(LOCATORS);
    for (int i = 0; i < LOCATORS; i++) {
      int at = LOCATORS_OFFSET + i * LOCATOR_SIZE;
      out.add(new ParentLocator(b.getInt(at), Integer.toUnsignedLong(b.getInt(at + 4)),
          Integer.toUnsignedLong(b.getInt(at + 8)), b.getLong(at + 16)));
    }
    return out;
  }

  /** Everything a new header says. */
  record Fields(long tableOffset, long maxTableEntries, long blockSize, UUID parentId,
      long parentTimestamp, String parentName, List<ParentLocator> locators) {}

  /** A header with {@code f}'s fields and a valid checksum. */
  static DynamicHeader of(Fields f) {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.BIG_ENDIAN);
    b.put(0, COOKIE.getBytes(StandardCharsets.ISO_8859_1));
    // Unused; the specification says 0xFFFFFFFF, Microsoft's tools expect all 64 bits set.
    b.putLong(8, -1L);
    b.putLong(16, f.tableOffset());
    b.putInt(24, VERSION);
    b.putInt(28, (int) f.maxTableEntries());
    b.putInt(32, (int) f.blockSize());
    if (f.parentId() != null) {
      b.putLong(40, f.parentId().getMostSignificantBits());
      b.putLong(48, f.parentId().getLeastSignificantBits());
    }
    b.putInt(56, (int) f.parentTimestamp());
    if (f.parentName() != null) {
      byte[] name = f.parentName().getBytes(StandardCharsets.UTF_16BE);
      b.put(PARENT_NAME_OFFSET, name, 0, Math.min(name.length, PARENT_NAME_BYTES));
    }
    for (int i = 0; i < f.locators().size(); i++) {
      ParentLocator l = f.locators().get(i);
      int at = LOCATORS_OFFSET + i * LOCATOR_SIZE;
      b.putInt(at, l.code());
      b.putInt(at + 4, (int) l.dataSpace());
      b.putInt(at + 8, (int) l.dataLength());
      b.putLong(at + 16, l.dataOffset());
    }
    byte[] raw = b.array();
    Footer.seal(raw, CHECKSUM_OFFSET);
    return new DynamicHeader(raw);
  }

  /** This header's bytes with the checksum recomputed. */
  DynamicHeader resealed() {
    byte[] copy = raw.clone();
    Footer.seal(copy, CHECKSUM_OFFSET);
    return new DynamicHeader(copy);
  }

  ByteBuffer encode() {
    return ByteBuffer.wrap(raw.clone());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DynamicHeader h && java.util.Arrays.equals(raw, h.raw);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(raw);
  }

  @Override
  public String toString() {
    return "DynamicHeader[" + maxTableEntries() + " entries of " + blockSize() + " bytes]";
  }
}
