package io.blockkit.vmdk;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One extent of a VMDK image: a run of the virtual disk stored one way (a flat file, a sparse
 * file, zeros). Offsets are bytes from the extent's own start; callers keep requests inside
 * {@link #length()}.
 */
interface DiskExtent {
  /** What an unallocated range of an extent reads as: the parent's bytes, or zeros. */
  @FunctionalInterface
  interface Parent {
    /** Fills {@code dst} with the parent's bytes at the extent offset {@code offset}. */
    void read(long offset, ByteBuffer dst) throws IOException;
  }

  /** How a run of the extent is stored. */
  enum Kind {
    /** Stored in a file at {@link Run#hostOffset()}. */
    DATA,
    /** Stored compressed: data, but at no plain host offset. */
    COMPRESSED,
    /** Reads zeros by this extent's own say (a ZERO extent, a zeroed grain). */
    ZERO,
    /** Not stored here: the parent decides (zeros without one). */
    UNALLOCATED
  }

  /** A run from the start of a status request. */
  record Run(long length, Kind kind, long hostOffset, BlockDevice host) {}

  long length();

  /** The file the extent stores data in, or null (ZERO). */
  BlockDevice file();

  void read(long offset, ByteBuffer dst, Parent parent) throws IOException;

  void write(long offset, ByteBuffer src, Parent parent) throws IOException;

  /**
   * Makes the range read as zeros.
   *
   * @param hasParent whether unallocated ranges would show a parent's data
   */
  void writeZeroes(long offset, long length, boolean hasParent, Parent parent) throws IOException;

  /** The status of the run at {@code offset}, at most {@code length} bytes. */
  Run status(long offset, long length) throws IOException;

  /** Makes written data and metadata durable (appended stream structures included). */
  void flush() throws IOException;

  /** Adds this extent's findings; {@code name} is how messages call it. */
  void check(CheckReport.Builder report, String name, Totals totals) throws IOException;

  /**
   * Repairs what {@link #check} finds, as far as {@code mode} allows, keeping every byte that
   * reads; the image checks again afterwards. Extents with nothing to repair do nothing.
   */
  default void repair(CheckMode mode) throws IOException {}

  /** Grain counts summed over the extents for the check report. */
  final class Totals {
    long total;
    long allocated;
    long fragmented;
    long endOffset = -1;
  }

  /** Releases what the extent holds beyond its file (which the image closes). */
  default void close() throws IOException {}
}
