package io.blockkit.vmdk;

import io.blockkit.api.error.CorruptImageException;
import java.util.Locale;
import java.util.regex.Matcher;

/**
 * One extent line of a descriptor: {@code ACCESS SECTORS TYPE "FILE" [OFFSET]}.
 *
 * @param access RW, RDONLY or NOACCESS
 * @param sectors the extent's size in 512-byte sectors
 * @param type FLAT, SPARSE, ZERO, VMFS, VMFSSPARSE, ... as written (upper case)
 * @param file the extent file's name, relative to the descriptor; null for ZERO
 * @param offset FLAT: the sector in the file where the extent's data starts; 0 otherwise
 */
record ExtentLine(String access, long sectors, String type, String file, long offset) {
  /** No image is larger: offsets in bytes stay within a long. */
  static final long MAX_SECTORS = Long.MAX_VALUE / 512 / 4;

  static ExtentLine parse(String location, int lineNo, Matcher m) throws CorruptImageException {
    String where = "descriptor line " + lineNo;
    long sectors = parseCount(location, where + " (extent sectors)", m.group(2));
    String type = m.group(3).toUpperCase(Locale.ROOT);
    String file = m.group(4);
    String off = m.group(5);
    if (!type.equals("ZERO") && file == null) {
      throw new CorruptImageException(location, where, -1, m.group(0).strip(),
          "a file name in quotes after the extent type " + type);
    }
    if (type.equals("FLAT") && off == null) {
      throw new CorruptImageException(location, where, -1, m.group(0).strip(),
          "a start sector after the file name of a FLAT extent");
    }
    if (type.equals("VMFS") && off != null) {
      throw new CorruptImageException(location, where, -1, m.group(0).strip(),
          "no start sector for a VMFS extent");
    }
    long offset = off == null ? 0 : parseCount(location, where + " (extent offset)", off);
    return new ExtentLine(m.group(1), sectors, type, file, offset);
  }

  private static long parseCount(String location, String where, String v)
      throws CorruptImageException {
    try {
      long n = Long.parseLong(v);
      if (n >= 0 && n <= MAX_SECTORS) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CorruptImageException(location, where, -1, "'" + v + "'",
        "a sector count from 0 to " + MAX_SECTORS);
  }

  boolean readable() {
    return !access.equals("NOACCESS");
  }

  boolean writable() {
    return access.equals("RW");
  }

  String render() {
    StringBuilder s = new StringBuilder(access).append(' ').append(sectors).append(' ')
        .append(type);
    if (file != null) {
      s.append(" \"").append(file).append('"');
    }
    if (type.equals("FLAT")) {
      s.append(' ').append(offset);
    }
    return s.toString();
  }
}
