package io.blockkit.api.options;

import io.blockkit.api.error.InvalidOptionException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/** Parsing and printing of byte sizes the way qemu-img writes them (powers of 1024). */
public final class Sizes {
  private static final String SUFFIXES = "BKMGTPE";
  private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

  private Sizes() {}

  /**
   * Parses {@code 512}, {@code 64M}, {@code 1.5G}, {@code 4k}, {@code 10T}: an optional suffix of
   * k/K, M, G, T, P, E (powers of 1024) or B. Fractions are allowed with a suffix if the result is a
   * whole number of bytes.
   *
   * @param what names the value in the error message, e.g. {@code "option 'size'"}
   */
  public static long parse(String text, String what) throws InvalidOptionException {
    String t = text == null ? "" : text.trim();
    if (t.isEmpty()) {
      throw new InvalidOptionException(what + ": empty size, expected a number with an optional "
          + "k, M, G, T, P or E suffix");
    }
    char last = Character.toUpperCase(t.charAt(t.length() - 1));
    int shift = 0;
    String digits = t;
    int idx = SUFFIXES.indexOf(last);
    if (idx >= 0) {
      shift = idx * 10;
      digits = t.substring(0, t.length() - 1);
    }
    try {
      BigDecimal value = new BigDecimal(digits);
      if (value.signum() < 0) {
        throw new InvalidOptionException(what + ": '" + text + "' is negative");
      }
      BigDecimal bytes = value.multiply(BigDecimal.valueOf(2).pow(shift));
      if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
        throw new InvalidOptionException(what + ": '" + text + "' is too large (the maximum is "
            + Long.MAX_VALUE + " bytes)");
      }
      if (bytes.stripTrailingZeros().scale() > 0) {
        throw new InvalidOptionException(what + ": '" + text + "' is not a whole number of bytes");
      }
      return bytes.longValueExact();
    } catch (NumberFormatException | ArithmeticException e) {
      throw new InvalidOptionException(what + ": '" + text + "' is not a size; expected a number "
          + "with an optional k, M, G, T, P or E suffix (e.g. 64M)");
    }
  }

  /**
   * Formats like qemu-img's human output: three significant digits and a binary unit, e.g.
   * {@code 64 MiB}, {@code 1.41 MiB}, {@code 97.7 GiB}, {@code 0 B}.
   */
  public static String toHuman(long bytes) {
    if (bytes < 0) {
      return "-" + toHuman(-bytes);
    }
    int unit = 0;
    BigDecimal v = BigDecimal.valueOf(bytes);
    BigDecimal k = BigDecimal.valueOf(1024);
    while (v.compareTo(BigDecimal.valueOf(1024)) >= 0 && unit < UNITS.length - 1) {
      v = v.divide(k);
      unit++;
    }
    BigDecimal rounded = v.round(new java.math.MathContext(3, RoundingMode.HALF_EVEN));
    String s = rounded.stripTrailingZeros().toPlainString();
    return s.toLowerCase(Locale.ROOT) + " " + UNITS[unit];
  }
}
