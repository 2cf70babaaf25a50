package io.blockkit.vmdk;

import io.blockkit.api.error.CorruptImageException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A VMDK text descriptor: header keys (version, CID, parentCID, createType,
 * parentFileNameHint), extent lines and the disk database ({@code ddb.*}). Parsing keeps the text
 * so that a CID change rewrites one line and leaves everything else (comments, foreign keys,
 * line ends) as the writer made it.
 */
final class Descriptor {
  /** Descriptors are small; a larger "descriptor" is not one (QEMU refuses beyond 1 MiB too). */
  static final int MAX_BYTES = 1 << 20;
  /** parentCID of an image without a parent. */
  static final int NO_PARENT = 0xffffffff;

  private static final Pattern KEY_VALUE = Pattern.compile("^\\s*([A-Za-z0-9_.]+)\\s*=\\s*(.*?)\\s*$");
  private static final Pattern EXTENT = Pattern.compile(
      "^\\s*(RW|RDONLY|NOACCESS)\\s+(\\S+)\\s+(\\S+)(?:\\s+\"([^\"]*)\"(?:\\s+(\\S+))?)?\\s*$");
  private static final Pattern CID_LINE = Pattern.compile("(?m)^(\\s*CID\\s*=\\s*)[0-9A-Fa-f]*");

  final String text;
  final int version;
  final int cid;
  final int parentCid;
  final String createType;
  final String parentFileNameHint;
  final List<ExtentLine> extents;
  final Map<String, String> ddb;

  private Descriptor(String text, int version, int cid, int parentCid, String createType,
      String parentFileNameHint, List<ExtentLine> extents, Map<String, String> ddb) {
    this.text = text;
    this.version = version;
    this.cid = cid;
    this.parentCid = parentCid;
    this.createType = createType;
    this.parentFileNameHint = parentFileNameHint;
    this.extents = List.copyOf(extents);
    this.ddb = ddb;
  }

  /**
   * Parses a descriptor.
   *
   * @param location the file holding it, for messages
   * @throws CorruptImageException naming the line that breaks the syntax
   */
  static Descriptor parse(String location, String text) throws CorruptImageException {
    Map<String, String> keys = new LinkedHashMap<>();
    Map<String, String> ddb = new LinkedHashMap<>();
    List<ExtentLine> extents = new ArrayList<>();
    int lineNo = 0;
    for (String raw : text.split("\n", -1)) {
      lineNo++;
      String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
      int nul = line.indexOf('\0');
      if (nul >= 0) {
        line = line.substring(0, nul); // an embedded descriptor is padded with NULs
      }
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("#")) {
        continue;
      }
      Matcher e = EXTENT.matcher(line);
      if (e.matches()) {
        extents.add(ExtentLine.parse(location, lineNo, e));
        continue;
      }
      Matcher kv = KEY_VALUE.matcher(line);
      if (!kv.matches()) {
        throw new CorruptImageException(location, "descriptor line " + lineNo, -1,
            "'" + shorten(trimmed) + "'", "key=value, an extent line (RW|RDONLY|NOACCESS "
                + "SECTORS TYPE \"FILE\" [OFFSET]) or a # comment");
      }
      String key = kv.group(1);
      String value = unquote(kv.group(2));
      if (key.startsWith("ddb.")) {
        ddb.put(key, value);
      } else {
        keys.put(key.toLowerCase(Locale.ROOT), value);
      }
    }
    int version = (int) number(location, keys, "version", 1, 10, 1);
    if (version < 1 || version > 3) {
      throw new CorruptImageException(location, "descriptor version", -1,
          Integer.toString(version), "1, 2 or 3");
    }
    int cid = (int) number(location, keys, "cid", NO_PARENT & 0xffffffffL, 16, 0xffffffffL);
    int parentCid = (int) number(location, keys, "parentcid", NO_PARENT & 0xffffffffL, 16,
        0xffffffffL);
    String type = keys.get("createtype");
    if (type == null) {
      throw new CorruptImageException(location, "descriptor createType", -1, "missing",
          "a createType line such as createType=\"monolithicSparse\"");
    }
    return new Descriptor(text, version, cid, parentCid, type, keys.get("parentfilenamehint"),
        extents, ddb);
  }

  private static long number(String location, Map<String, String> keys, String key, long dflt,
      int radix, long max) throws CorruptImageException {
    String v = keys.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v, radix);
      if (n < 0 || n > max) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new CorruptImageException(location, "descriptor " + key, -1, "'" + shorten(v) + "'",
          radix == 16 ? "a 32-bit hexadecimal number" : "a small decimal number");
    }
  }

  private static String unquote(String v) {
    return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")
        ? v.substring(1, v.length() - 1) : v;
  }

  private static String shorten(String s) {
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }

  /** Capacity in sectors: the sum of every extent line's sectors. */
  long sectors() {
    long n = 0;
    for (ExtentLine e : extents) {
      n += e.sectors();
    }
    return n;
  }

  /** The text with the CID line set to {@code newCid}, everything else unchanged. */
  String withCid(int newCid) {
    Matcher m = CID_LINE.matcher(text);
    return m.find() ? m.replaceFirst("$1" + hex(newCid)) : text;
  }

  static String hex(int v) {
    return String.format("%08x", v);
  }

  /** What a new image's descriptor says; qemu-img's layout and keys. */
  static String render(int cid, int parentCid, String createType, String parentHint,
      List<ExtentLine> extents, Map<String, String> ddb, boolean blankLines) {
    String gap = blankLines ? "\n" : "";
    StringBuilder s = new StringBuilder();
    s.append("# Disk DescriptorFile\nversion=1\n");
    s.append("CID=").append(hex(cid)).append('\n');
    s.append("parentCID=").append(hex(parentCid)).append('\n');
    s.append("createType=\"").append(createType).append("\"\n");
    if (parentHint != null) {
      s.append("parentFileNameHint=\"").append(parentHint).append("\"\n");
    }
    s.append(gap).append("# Extent description\n");
    for (ExtentLine e : extents) {
      s.append(e.render()).append('\n');
    }
    s.append(gap).append("# The Disk Data Base\n#DDB\n").append(gap);
    for (Map.Entry<String, String> d : ddb.entrySet()) {
      s.append(d.getKey()).append(" = \"").append(d.getValue()).append("\"\n");
    }
    return s.toString();
  }
}
