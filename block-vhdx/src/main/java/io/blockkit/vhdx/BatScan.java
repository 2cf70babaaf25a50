package io.blockkit.vhdx;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Walks every entry of the BAT region straight from the file, a megabyte at a time, without
 * filling the page cache: for building the space map at a writable open.
 */
final class BatScan {
  /** What to do with one entry. */
  interface Visitor {
    void entry(long index, long value) throws IOException;
  }

  private BatScan() {}

  /** Calls {@code visitor} for entries {@code 0..count-1} of the BAT at {@code offset}. */
  static void forEach(ImageFile file, long offset, long count, Visitor visitor)
      throws IOException {
    final int chunk = (int) (Layout.MIB / 8);
    for (long first = 0; first < count; first += chunk) {
      int n = (int) Math.min(chunk, count - first);
      ByteBuffer b = file.read(offset + 8 * first, 8 * n);
      for (int i = 0; i < n; i++) {
        visitor.entry(first + i, b.getLong(8 * i));
      }
    }
  }
}
