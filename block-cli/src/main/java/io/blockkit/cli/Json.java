package io.blockkit.cli;

import java.util.List;
import java.util.Map;

/**
 * Writes JSON the way qemu-img pretty-prints it (4-space indent, {@code "key": value}), from maps,
 * lists, strings, numbers and booleans. Small on purpose: JSON output must not cost start-up time.
 */
final class Json {
  private Json() {}

  /** Pretty form, qemu's layout. */
  static String pretty(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, 0, true);
    return sb.toString();
  }

  /** One line, for JSON-lines progress. */
  static String compact(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, 0, false);
    return sb.toString();
  }

  private static void write(StringBuilder sb, Object v, int depth, boolean pretty) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof String s) {
      string(sb, s);
    } else if (v instanceof Number || v instanceof Boolean) {
      sb.append(v);
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        sb.append("{}");
        return;
      }
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        newline(sb, depth + 1, pretty);
        string(sb, String.valueOf(e.getKey()));
        sb.append(": ");
        write(sb, e.getValue(), depth + 1, pretty);
      }
      newline(sb, depth, pretty);
      sb.append('}');
    } else if (v instanceof List<?> l) {
      if (l.isEmpty()) {
        sb.append("[]");
        return;
      }
      sb.append('[');
      boolean first = true;
      for (Object o : l) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        newline(sb, depth + 1, pretty);
        write(sb, o, depth + 1, pretty);
      }
      newline(sb, depth, pretty);
      sb.append(']');
    } else {
      string(sb, v.toString());
    }
  }

  private static void newline(StringBuilder sb, int depth, boolean pretty) {
    if (pretty) {
      sb.append('\n');
      sb.append("    ".repeat(depth));
    } else {
      sb.append(' ');
    }
  }

  static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (Character.isHighSurrogate(c) && i + 1 < s.length()
              && Character.isLowSurrogate(s.charAt(i + 1))) {
            sb.append(c).append(s.charAt(++i)); // a pair: one character beyond U+FFFF
          } else if (c < 0x20 || Character.isSurrogate(c)) {
            // a lone surrogate is a byte of a file name that is not UTF-8 (SurrogateEscape):
            // escaped, the output stays UTF-8, and a reader that maps it back (Python's
            // surrogateescape) gets the name's exact bytes
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
