package io.blockkit.vhdx;

/** BAT entry fields and states: bits 0-2 the state, 3-19 reserved, 20-63 the file offset in MiB. */
final class BatState {
  static final int NOT_PRESENT = 0;
  static final int UNDEFINED = 1;
  static final int ZERO = 2;
  static final int UNMAPPED = 3;
  static final int FULLY_PRESENT = 6;
  static final int PARTIALLY_PRESENT = 7;
  /** Sector bitmap entries: not allocated, or allocated at the entry's offset. */
  static final int SB_NOT_PRESENT = 0;
  static final int SB_PRESENT = 6;
  static final long OFFSET_MASK = 0xFFFFFFFFFFF00000L;
  static final long RESERVED_MASK = 0xFFFF8L;

  private BatState() {}

  static int state(long entry) {
    return (int) (entry & 7);
  }

  static long offset(long entry) {
    return entry & OFFSET_MASK;
  }

  static long entry(int state, long offset) {
    return (offset & OFFSET_MASK) | state;
  }

  /** Whether a payload state stores data in the file (the sector bitmap decides for PARTIALLY). */
  static boolean present(int state) {
    return state == FULLY_PRESENT || state == PARTIALLY_PRESENT;
  }

  static String name(int state) {
    return switch (state) {
      case NOT_PRESENT -> "NOT_PRESENT";
      case UNDEFINED -> "UNDEFINED";
      case ZERO -> "ZERO";
      case UNMAPPED -> "UNMAPPED";
      case FULLY_PRESENT -> "FULLY_PRESENT";
      case PARTIALLY_PRESENT -> "PARTIALLY_PRESENT";
      default -> "reserved state " + state;
    };
  }
}
