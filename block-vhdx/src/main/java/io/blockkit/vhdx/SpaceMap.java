package io.blockkit.vhdx;

import java.util.BitSet;

/**
 * Which 1 MiB units of the file hold structures (header section, log, regions, payload and
 * sector bitmap blocks), for placing new blocks: the first run of free units that fits, else the
 * end. Units past the file's end are never recorded (an entry pointing there is corrupt; check
 * reports it), so memory is one bit per MiB of file.
 */
final class SpaceMap {
  private final BitSet used = new BitSet();
  private final long limitUnits;

  /** A map for a file of {@code fileLength} bytes, nothing used yet. */
  SpaceMap(long fileLength) {
    this.limitUnits = Layout.roundUp(fileLength, Layout.MIB) / Layout.MIB;
  }

  /** Records {@code [offset, offset + length)} as used, as far as it lies inside the file. */
  void use(long offset, long length) {
    long from = offset / Layout.MIB;
    long to = Math.min(limitUnits, Layout.roundUp(offset + length, Layout.MIB) / Layout.MIB);
    if (from < to) {
      used.set((int) from, (int) to);
    }
  }

  /** Whether any unit of the range is recorded as used (only the part inside the file counts). */
  boolean anyUsed(long offset, long length) {
    long from = offset / Layout.MIB;
    long to = Math.min(limitUnits, Layout.roundUp(offset + length, Layout.MIB) / Layout.MIB);
    if (from >= to) {
      return false;
    }
    int next = used.nextSetBit((int) from);
    return next >= 0 && next < to;
  }

  /** Frees the range for reuse. */
  void free(long offset, long length) {
    long from = offset / Layout.MIB;
    long to = Layout.roundUp(offset + length, Layout.MIB) / Layout.MIB;
    if (from < to) {
      used.clear((int) Math.min(from, Integer.MAX_VALUE), (int) Math.min(to, Integer.MAX_VALUE));
    }
  }

  /** Places {@code length} bytes (a multiple of 1 MiB): the first free run that fits, else the end. */
  long allocate(long length) {
    int units = (int) (length / Layout.MIB);
    int at = used.nextClearBit(0);
    while (true) {
      int taken = used.nextSetBit(at);
      if (taken < 0 || taken - at >= units) {
        used.set(at, at + units);
        return at * Layout.MIB;
      }
      at = used.nextClearBit(taken);
    }
  }

  /** The end of the last used unit. */
  long end() {
    return used.length() * Layout.MIB;
  }
}
