package io.blockkit.qcow2;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The three feature bit sets of a version 3 header and the feature name table extension that
 * names them. Unknown incompatible bits refuse the open (named from the image's own table where
 * it has one), unknown compatible bits are kept, unknown autoclear bits are cleared before the
 * first write.
 */
final class Features {
  static final int INCOMPATIBLE = 0;
  static final int COMPATIBLE = 1;
  static final int AUTOCLEAR = 2;

  static final long DIRTY = 1L;
  static final long CORRUPT = 1L << 1;
  static final long DATA_FILE = 1L << 2;
  static final long COMPRESSION_TYPE = 1L << 3;
  static final long EXTENDED_L2 = 1L << 4;
  static final long KNOWN_INCOMPATIBLE = DIRTY | CORRUPT | DATA_FILE | COMPRESSION_TYPE
      | EXTENDED_L2;

  static final long LAZY_REFCOUNTS = 1L;
  static final long KNOWN_COMPATIBLE = LAZY_REFCOUNTS;

  static final long BITMAPS = 1L;
  static final long DATA_FILE_RAW = 1L << 1;
  static final long KNOWN_AUTOCLEAR = BITMAPS | DATA_FILE_RAW;

  /** Bytes per feature name table entry. */
  static final int ENTRY_SIZE = 48;
  private static final int NAME_SIZE = 46;

  /** One entry of the feature name table. */
  record Name(int kind, int bit, String name) {}

  /** The table blockkit writes: the features it knows, as qemu 7.2 names them. */
  static final List<Name> OWN_TABLE = List.of(
      new Name(INCOMPATIBLE, 0, "dirty bit"),
      new Name(INCOMPATIBLE, 1, "corrupt bit"),
      new Name(INCOMPATIBLE, 2, "external data file"),
      new Name(INCOMPATIBLE, 3, "compression type"),
      new Name(INCOMPATIBLE, 4, "extended L2 entries"),
      new Name(COMPATIBLE, 0, "lazy refcounts"),
      new Name(AUTOCLEAR, 0, "bitmaps"),
      new Name(AUTOCLEAR, 1, "raw external data"));

  private Features() {}

  /** Parses a feature name table extension's data (whole entries; a trailing part is ignored). */
  static List<Name> parseTable(ByteBuffer data) {
    List<Name> out = new ArrayList<>();
    for (int at = 0; at + ENTRY_SIZE <= data.limit(); at += ENTRY_SIZE) {
      int kind = data.get(at) & 0xff;
      int bit = data.get(at + 1) & 0xff;
      byte[] raw = new byte[NAME_SIZE];
      data.get(at + 2, raw);
      int len = 0;
      while (len < raw.length && raw[len] != 0) {
        len++;
      }
      out.add(new Name(kind, bit, new String(raw, 0, len, StandardCharsets.UTF_8)));
    }
    return out;
  }

  /** The bytes of a feature name table. */
  static byte[] encodeTable(List<Name> table) {
    ByteBuffer b = ByteBuffer.allocate(table.size() * ENTRY_SIZE);
    for (Name n : table) {
      int at = b.position();
      b.put((byte) n.kind()).put((byte) n.bit());
      byte[] name = n.name().getBytes(StandardCharsets.UTF_8);
      b.put(name, 0, Math.min(name.length, NAME_SIZE));
      b.position(at + ENTRY_SIZE);
    }
    return b.array();
  }

  /**
   * How a set of bits reads in a message: each bit's name from {@code table} when the image names
   * it, otherwise "unknown incompatible feature: bit N".
   */
  static String describe(int kind, long bits, List<Name> table) {
    List<String> parts = new ArrayList<>();
    for (int bit = 0; bit < 64; bit++) {
      if ((bits & (1L << bit)) == 0) {
        continue;
      }
      String name = null;
      for (Name n : table) {
        if (n.kind() == kind && n.bit() == bit) {
          name = n.name();
        }
      }
      parts.add(name != null && !name.isBlank() ? "'" + name + "' (bit " + bit + ")"
          : "unknown " + kindName(kind) + " feature: bit " + bit);
    }
    return String.join(", ", parts);
  }

  static String kindName(int kind) {
    return switch (kind) {
      case INCOMPATIBLE -> "incompatible";
      case COMPATIBLE -> "compatible";
      default -> "autoclear";
    };
  }
}
