package io.blockkit.verify.formats;

import java.util.Objects;
import org.junit.jupiter.api.Assumptions;

/**
 * Something a format may or may not offer the suites (a qemu-img check, a fuzz target), and when
 * it does not, why: a test that needs it is then reported as skipped with that reason, never
 * silently passed.
 */
public final class Support<T> {
  private final T value;
  private final String whyNot;

  private Support(T value, String whyNot) {
    this.value = value;
    this.whyNot = whyNot;
  }

  public static <T> Support<T> of(T value) {
    return new Support<>(Objects.requireNonNull(value), null);
  }

  /** Not offered, for the reason given (a sentence a reader of the test report understands). */
  public static <T> Support<T> not(String whyNot) {
    return new Support<>(null, Objects.requireNonNull(whyNot));
  }

  public boolean applies() {
    return value != null;
  }

  /** The value; use only after {@link #applies()}. */
  public T get() {
    if (value == null) {
      throw new IllegalStateException("does not apply: " + whyNot);
    }
    return value;
  }

  public String whyNot() {
    return whyNot;
  }

  /** The value, or skips the calling test (JUnit's abort) naming {@code format} and the reason. */
  public T orSkip(String format, String what) {
    if (value == null) {
      String message = format + ": " + what + " skipped: " + whyNot;
      System.out.println("SKIPPED: " + message);
      Assumptions.abort(message);
    }
    return value;
  }
}
