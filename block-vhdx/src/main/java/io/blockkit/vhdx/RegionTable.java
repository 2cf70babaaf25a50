package io.blockkit.vhdx;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The region table (two copies, at 192 KiB and 256 KiB): where the BAT, the metadata region and
 * any other region lie. Regions are 1 MiB aligned and may not overlap each other or the log.
 *
 * @param entries every region, in table order
 * @param problem what is wrong with the copy not used (null when both copies are valid)
 */
record RegionTable(List<Region> entries, String problem) {
  static final int SIGNATURE = 0x69676572; // "regi"
  static final int MAX_ENTRIES = 2047;
  static final UUID BAT = UUID.fromString("2dc27766-f623-4200-9d64-115e9bfd4a08");
  static final UUID METADATA = UUID.fromString("8b7ca206-4790-4b9a-b8fe-575f050f886e");

  /** One region. */
  record Region(UUID guid, long offset, long length, boolean required) {
    long end() {
      return offset + length;
    }
  }

  /**
   * Reads the table from the first copy whose signature and checksum hold (the second when the
   * first is damaged) and checks it.
   *
   * @throws CorruptImageException when neither copy is valid, or the regions break a rule
   * @throws UnsupportedFeatureException when a region this driver does not know is required
   */
  static RegionTable read(ImageFile file, String location, VhdxHeader header)
      throws IOException {
    ByteBuffer first = file.read(Layout.REGION1_OFFSET, Layout.REGION_TABLE_BYTES);
    ByteBuffer second = file.read(Layout.REGION2_OFFSET, Layout.REGION_TABLE_BYTES);
    boolean ok1 = intact(first);
    boolean ok2 = intact(second);
    if (!ok1 && !ok2) {
      throw new CorruptImageException(location, "region tables (at offsets 196608 and 262144)",
          -1, "invalid in both copies", "the signature \"regi\" and a matching CRC-32C");
    }
    String problem = !ok1 ? "the first copy (at offset 196608) has a bad signature or checksum"
        : !ok2 ? "the second copy (at offset 262144) has a bad signature or checksum"
        : !first.equals(second) ? "the two copies differ" : null;
    ByteBuffer b = ok1 ? first : second;
    long tableOffset = ok1 ? Layout.REGION1_OFFSET : Layout.REGION2_OFFSET;
    long count = Integer.toUnsignedLong(b.getInt(8));
    if (count > MAX_ENTRIES) {
      throw new CorruptImageException(location, "region table entry count", tableOffset + 8,
          Long.toString(count), "at most " + MAX_ENTRIES);
    }
    List<Region> regions = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int at = 16 + 32 * i;
      Region r = new Region(Guids.get(b, at), b.getLong(at + 16),
          Integer.toUnsignedLong(b.getInt(at + 24)), (b.getInt(at + 28) & 1) != 0);
      String what = "region table entry " + i + " (" + r.guid() + ")";
      if (r.offset() < Layout.HEADER_SECTION || r.offset() % Layout.MIB != 0
          || r.offset() > Layout.MAX_FILE_OFFSET) {
        throw new CorruptImageException(location, what + " file offset", tableOffset + at + 16,
            Long.toUnsignedString(r.offset()), "a multiple of 1 MiB from 1 MiB on");
      }
      if (r.length() % Layout.MIB != 0) {
        throw new CorruptImageException(location, what + " length", tableOffset + at + 24,
            Long.toString(r.length()), "a multiple of 1 MiB");
      }
      boolean known = r.guid().equals(BAT) || r.guid().equals(METADATA);
      if (!known && r.required()) {
        throw new UnsupportedFeatureException("VHDX image '" + location + "' requires region "
            + r.guid() + " (region table entry " + i + "), which this driver does not know");
      }
      for (Region o : regions) {
        if (o.guid().equals(r.guid())) {
          throw new CorruptImageException(location, what, tableOffset + at, "a second entry "
              + "for region " + r.guid(), "each region once");
        }
        if (r.offset() < o.end() && o.offset() < r.end()) {
          throw new CorruptImageException(location, what, tableOffset + at, "at "
              + r.offset() + ".." + r.end() + ", overlapping region " + o.guid() + " at "
              + o.offset() + ".." + o.end(), "regions that do not overlap");
        }
      }
      if (r.offset() < header.logOffset() + header.logLength()
          && header.logOffset() < r.end()) {
        throw new CorruptImageException(location, what, tableOffset + at, "at " + r.offset()
            + ".." + r.end() + ", overlapping the log at " + header.logOffset() + ".."
            + (header.logOffset() + header.logLength()), "regions clear of the log");
      }
      regions.add(r);
    }
    RegionTable t = new RegionTable(List.copyOf(regions), problem);
    for (UUID needed : new UUID[] {BAT, METADATA}) {
      if (t.find(needed) == null) {
        throw new CorruptImageException(location, "region table", tableOffset, "without an "
            + "entry for the " + (needed.equals(BAT) ? "BAT" : "metadata region") + " ("
            + needed + ")", "one");
      }
    }
    return t;
  }

  private static boolean intact(ByteBuffer b) {
    return b.getInt(0) == SIGNATURE && Checksums.valid(b, 4);
  }

  Region find(UUID guid) {
    for (Region r : entries) {
      if (r.guid().equals(guid)) {
        return r;
      }
    }
    return null;
  }

  Region bat() {
    return find(BAT);
  }

  Region metadata() {
    return find(METADATA);
  }

  /** The 64 KiB encoding, checksum included. */
  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(Layout.REGION_TABLE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, SIGNATURE);
    b.putInt(8, entries.size());
    for (int i = 0; i < entries.size(); i++) {
      Region r = entries.get(i);
      int at = 16 + 32 * i;
      Guids.put(b, at, r.guid());
      b.putLong(at + 16, r.offset());
      b.putInt(at + 24, (int) r.length());
      b.putInt(at + 28, r.required() ? 1 : 0);
    }
    Checksums.seal(b, 4);
    return b;
  }
}
