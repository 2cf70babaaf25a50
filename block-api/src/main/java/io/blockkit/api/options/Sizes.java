package io.blockkit.api.options;

import io.blockkit.api.error.InvalidOptionException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.regex.Pattern;

/** Parsing and printing of byte sizes the way qemu-img writes them (powers of 1024). */
public final class Sizes {
  private static final String SUFFIXES = "BKMGTPE";
  private static final Pattern NUMBER = Pattern.compile("[0-9]+(\\.[0-9]+)?");
  private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

  private Sizes() {}

  /**
   * Parses {@code 512}, {@code 64M}, {@code 1.5G}, {@code 4k}, {@code 10T}: an optional suffix of
   * k/K, M, G, T, P, E (powers of 1024) or B. Fractions are allowed with a suffix if the result is a
   * whole number of bytes.
   *
   * @param what names the value in the error message, e.g. {@code "option 'size'"}
   * @throws InvalidOptionException naming {@code what} when {@code text} is not a size, is negative or overflows
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
    if (digits.startsWith("-")) {
      throw new InvalidOptionException(what + ": '" + text + "' is negative");
    }
    if (!NUMBER.matcher(digits).matches()) {
      // BigDecimal alone would also take "1e3" or "+5", which qemu rejects.
      throw notASize(what, text);
    }
    try {
      BigDecimal value = new BigDecimal(digits);
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
      throw notASize(what, text);
    }
  }

  private static InvalidOptionException notASize(String what, String text) {
    return new InvalidOptionException(what + ": '" + text + "' is not a size; expected a number "
        + "with an optional k, M, G, T, P or E suffix (e.g. 64M)");
  }

  /**
   * Formats like qemu-img's human output ({@code size_to_str}): the largest binary unit in which the
   * value is at least 1000/1024 of a unit (so the number stays below 1000), printed as C's {@code
   * %0.3g}: three significant digits, trailing zeros dropped, e.g. {@code 64 MiB}, {@code 1.41 MiB},
   * {@code 0.999 MiB}, {@code 0 B}. Like qemu, a value that rounds up to 1000 prints as {@code
   * 1e+03}.
   */
  public static String toHuman(long bytes) {
    if (bytes < 0) {
      return "-" + toHuman(-bytes);
    }
    // qemu switches unit at 1000 (not 1024) units of the smaller one: 1000 B is 0.977 KiB.
    BigInteger scaled = BigInteger.valueOf(bytes).shiftLeft(10);
    int unit = 0;
    while (unit < UNITS.length - 1
        && scaled.compareTo(BigInteger.valueOf(1000).shiftLeft(10 * (unit + 1))) >= 0) {
      unit++;
    }
    BigDecimal v = new BigDecimal(BigInteger.valueOf(bytes)).divide(
        new BigDecimal(BigInteger.ONE.shiftLeft(10 * unit)));
    BigDecimal rounded = v.round(new MathContext(3, RoundingMode.HALF_EVEN));
    String s = rounded.compareTo(BigDecimal.valueOf(1000)) >= 0 ? "1e+03"
        : rounded.stripTrailingZeros().toPlainString();
    return s + " " + UNITS[unit];
  }
}
