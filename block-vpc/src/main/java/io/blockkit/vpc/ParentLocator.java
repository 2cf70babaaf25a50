package io.blockkit.vpc;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * One of the dynamic header's eight parent locator entries: a platform code saying how the
 * parent's name is stored, and where (an absolute file offset) and how long that name is.
 *
 * @param code the platform code ({@link #W2RU} ...), 0 for an unused entry
 * @param dataSpace the space reserved for the name: sectors by the specification, bytes as
 *     Hyper-V writes it; only informative
 * @param dataLength the name's length in bytes
 * @param dataOffset where the name is stored in the file
 */
record ParentLocator(int code, long dataSpace, long dataLength, long dataOffset) {
  /** Relative Windows path, UTF-16LE (Hyper-V, VirtualBox). */
  static final int W2RU = code("W2ru");
  /** Absolute Windows path, UTF-16LE. */
  static final int W2KU = code("W2ku");
  /** Deprecated relative Windows path, ANSI. */
  static final int WI2R = code("Wi2r");
  /** Deprecated absolute Windows path, ANSI. */
  static final int WI2K = code("Wi2k");
  /** Mac OS alias record: opaque, never read. */
  static final int MAC = code("Mac ");
  /** Mac OS X file URL, UTF-8. */
  static final int MACX = code("MacX");
  /**
   * blockkit's record of a parent that is not a VHD (a raw base): the parent's format name in
   * ASCII. Written only for such parents, which Hyper-V and Virtual PC cannot use anyway; readers
   * skip entries whose code they do not know.
   */
  static final int BKFM = code("bkfm");
  /** The longest name read: 32767 UTF-16 characters, Windows' longest path. */
  static final int MAX_DATA = 65534;

  static int code(String fourChars) {
    byte[] b = fourChars.getBytes(StandardCharsets.ISO_8859_1);
    return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | b[3] & 0xff;
  }

  /** The platform code as its four characters. */
  static String codeName(int code) {
    byte[] b = {(byte) (code >>> 24), (byte) (code >>> 16), (byte) (code >>> 8), (byte) code};
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  boolean isUsed() {
    return code != 0;
  }

  /** Whether the entry holds a name blockkit can read (every code but Mac's alias record). */
  boolean holdsName() {
    return code == W2RU || code == W2KU || code == WI2R || code == WI2K || code == MACX;
  }

  /** How readable names are ordered: relative names first, so a moved pair of files still opens. */
  int preference() {
    if (code == W2RU) {
      return 0;
    }
    if (code == W2KU) {
      return 1;
    }
    if (code == WI2R) {
      return 2;
    }
    if (code == WI2K) {
      return 3;
    }
    return 4;
  }

  /**
   * The name stored in {@code data} (this entry's bytes) as blockkit opens it: Windows separators
   * become {@code /}, a leading {@code .\} goes, a file URL becomes its path. Null when nothing
   * usable is there.
   */
  String decode(byte[] data) {
    String text;
    if (code == W2RU || code == W2KU) {
      text = new String(data, StandardCharsets.UTF_16LE);
    } else if (code == WI2R || code == WI2K) {
      text = new String(data, Charset.forName("windows-1252"));
    } else if (code == MACX) {
      text = fileUrlPath(new String(data, StandardCharsets.UTF_8));
    } else if (code == BKFM) {
      text = new String(data, StandardCharsets.US_ASCII);
    } else {
      return null;
    }
    if (text == null) {
      return null;
    }
    int nul = text.indexOf('\0');
    if (nul >= 0) {
      text = text.substring(0, nul);
    }
    if (text.isEmpty()) {
      return null;
    }
    return code == BKFM ? text : portable(text);
  }

  /** A Windows name with {@code /} separators and without a leading {@code .\}. */
  static String portable(String windowsName) {
    String s = windowsName.replace('\\', '/');
    while (s.startsWith("./")) {
      s = s.substring(2);
    }
    return s;
  }

  /** A relative name as Hyper-V stores it in a W2ru entry: {@code .\dir\name}. */
  static String windowsRelative(String portableName) {
    String s = portableName.replace('/', '\\');
    return s.startsWith("..\\") ? s : ".\\" + s;
  }

  private static String fileUrlPath(String url) {
    try {
      URI u = new URI(url.trim().replace("\0", ""));
      return "file".equalsIgnoreCase(u.getScheme()) ? u.getPath() : null;
    } catch (URISyntaxException e) {
      return null;
    }
  }
}
