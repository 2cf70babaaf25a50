package io.blockkit.api;

/** What {@link BlockDevice#check} may change: qemu-img check's {@code -r} argument. */
public enum CheckMode {
  /** Only report. */
  REPORT,
  /** Repair leaks only ({@code -r leaks}). */
  REPAIR_LEAKS,
  /** Repair leaks and corruptions ({@code -r all}). */
  REPAIR_ALL;

  public boolean repairsLeaks() {
    return this != REPORT;
  }

  public boolean repairsCorruptions() {
    return this == REPAIR_ALL;
  }
}
