package io.blockkit.qcow2;

/**
 * A run of virtual bytes with one status in this layer, as {@link ClusterMap#segments} decodes it
 * from the L1 and L2 tables: never crossing an L2 table, merged while the status and the host
 * offsets continue.
 *
 * @param offset virtual start
 * @param length bytes
 * @param kind what the run reads as
 * @param host for NORMAL runs the host offset of {@code offset} (in the data file when there is
 *     one); for ZERO runs of a preallocated cluster its host offset, otherwise -1
 * @param entry for COMPRESSED runs (one cluster at most) the L2 entry
 * @param problem for BAD runs, why they cannot be read
 */
record Segment(long offset, long length, Kind kind, long host, long entry, String problem) {
  enum Kind {
    /** This layer leaves the run to the backing (or zeros). */
    UNALLOCATED,
    /** Reads as zeros, whatever the backing holds. */
    ZERO,
    /** Data at {@code host}. */
    NORMAL,
    /** One compressed cluster. */
    COMPRESSED,
    /** Metadata that cannot be followed: reading fails, check reports it, repair drops it. */
    BAD
  }

  long end() {
    return offset + length;
  }

  /** True when {@code next} continues this run (same kind, contiguous host data). */
  boolean continuedBy(Segment next) {
    if (next.kind != kind || next.offset != end() || kind == Kind.COMPRESSED
        || kind == Kind.BAD) {
      return false;
    }
    return host < 0 ? next.host < 0 : next.host == host + length;
  }

  Segment extend(Segment next) {
    return new Segment(offset, length + next.length, kind, host, entry, problem);
  }
}
