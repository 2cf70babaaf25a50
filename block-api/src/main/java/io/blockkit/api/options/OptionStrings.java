package io.blockkit.api.options;

import io.blockkit.api.error.InvalidOptionException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Splits qemu-style option strings: {@code key=value,key2=value2}, where {@code ,,} stands for a
 * literal comma inside a value. A bare key without {@code =} means {@code key=on}, as in qemu.
 */
public final class OptionStrings {
  private OptionStrings() {}

  /**
   * Splits into an insertion-ordered map; a repeated key is an error.
   *
   * @throws InvalidOptionException for a repeated or empty key
   */
  public static Map<String, String> split(String text) throws InvalidOptionException {
    Map<String, String> out = new LinkedHashMap<>();
    if (text == null || text.isEmpty()) {
      return out;
    }
    StringBuilder cur = new StringBuilder();
    int i = 0;
    while (i <= text.length()) {
      char c = i < text.length() ? text.charAt(i) : ',';
      if (c == ',' && i + 1 < text.length() && text.charAt(i + 1) == ',') {
        cur.append(',');
        i += 2;
        continue;
      }
      if (c == ',') {
        addPair(out, cur.toString(), text);
        cur.setLength(0);
      } else {
        cur.append(c);
      }
      i++;
    }
    return out;
  }

  private static void addPair(Map<String, String> out, String pair, String whole)
      throws InvalidOptionException {
    if (pair.isEmpty()) {
      throw new InvalidOptionException("Empty option in '" + whole + "'; expected key=value pairs "
          + "separated by commas (use ,, for a comma inside a value)");
    }
    int eq = pair.indexOf('=');
    String key = eq < 0 ? pair : pair.substring(0, eq);
    String value = eq < 0 ? "on" : pair.substring(eq + 1);
    if (key.isEmpty()) {
      throw new InvalidOptionException("Option '" + pair + "' has no key");
    }
    if (out.putIfAbsent(key, value) != null) {
      throw new InvalidOptionException("Option '" + key + "' is given twice");
    }
  }

  /**
   * The inverse of {@link #split}: joins with commas, doubling commas inside keys and values
   * ({@code split} reads {@code ,,} as a comma in either).
   */
  public static String join(Map<String, String> options) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : options.entrySet()) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(e.getKey().replace(",", ",,")).append('=')
          .append(e.getValue().replace(",", ",,"));
    }
    return sb.toString();
  }
}
