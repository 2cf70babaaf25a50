package io.blockkit.blkdebug;

import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;

/**
 * The parsed open options: which request of each kind fails, and when power is lost. Zero or
 * negative "never" is represented as 0 for the fail rules and -1 for the limits.
 */
record FaultPlan(long failRead, long failWrite, long failFlush, long failAfterBytes,
    long powerLossAfterWrites, boolean once) {

  static final String FAIL_READ = "fail-read";
  static final String FAIL_WRITE = "fail-write";
  static final String FAIL_FLUSH = "fail-flush";
  static final String FAIL_AFTER_BYTES = "fail-after-bytes";
  static final String POWER_LOSS_AFTER_WRITES = "power-loss-after-writes";
  static final String ONCE = "once";

  static FaultPlan from(Options o) throws InvalidOptionException {
    return new FaultPlan(nonNegative(o, FAIL_READ), nonNegative(o, FAIL_WRITE),
        nonNegative(o, FAIL_FLUSH),
        o.has(FAIL_AFTER_BYTES) ? o.size(FAIL_AFTER_BYTES) : -1,
        o.has(POWER_LOSS_AFTER_WRITES) ? nonNegative(o, POWER_LOSS_AFTER_WRITES) : -1,
        o.bool(ONCE));
  }

  private static long nonNegative(Options o, String key) throws InvalidOptionException {
    long v = o.integer(key);
    if (v < 0) {
      throw new InvalidOptionException("Option '" + key + "': '" + v
          + "' is negative; expected a request number (1 = the first, 0 = never)");
    }
    return v;
  }

  /** Whether request number {@code n} (1-based) of a kind with rule {@code nth} fails. */
  boolean fires(long nth, long n) {
    return nth > 0 && (once ? n == nth : n >= nth);
  }
}
