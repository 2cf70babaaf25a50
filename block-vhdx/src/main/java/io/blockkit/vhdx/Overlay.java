package io.blockkit.vhdx;

import io.blockkit.vhdx.LogEntry.Descriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * A log replayed in memory, for read-only opens: what each logged update would have written,
 * laid over the file's bytes. Updates are kept as disjoint ranges (a later one replaces the part of
 * an earlier one it covers); a data update keeps only where its bytes are in the log, so memory
 * grows with the number of updates, never with their size.
 */
final class Overlay {
  /** A replayed range: zeros, or the page a data descriptor rebuilds (from {@code from} on). */
  private record Patch(long start, long end, Descriptor source) {}

  private final ImageFile file;
  private final long logOffset;
  private final TreeMap<Long, Patch> patches = new TreeMap<>();
  private long end;

  Overlay(ImageFile file, long logOffset) {
    this.file = file;
    this.logOffset = logOffset;
  }

  /** Lays {@code d} over everything replayed before it. */
  void add(Descriptor d) {
    long start = d.fileOffset();
    long stop = d.end();
    Map.Entry<Long, Patch> before = patches.lowerEntry(start);
    if (before != null && before.getValue().end() > start) {
      Patch p = before.getValue();
      patches.put(p.start(), new Patch(p.start(), start, p.source()));
      if (p.end() > stop) {
        patches.put(stop, new Patch(stop, p.end(), p.source()));
      }
    }
    Map.Entry<Long, Patch> e;
    while ((e = patches.ceilingEntry(start)) != null && e.getKey() < stop) {
      Patch p = patches.remove(e.getKey());
      if (p.end() > stop) {
        patches.put(stop, new Patch(stop, p.end(), p.source()));
      }
    }
    patches.put(start, new Patch(start, stop, d));
    end = Math.max(end, stop);
  }

  /** The end of the furthest replayed range. */
  long end() {
    return end;
  }

  boolean isEmpty() {
    return patches.isEmpty();
  }

  /** Replaces the bytes of {@code dst} (read from the file at {@code offset}) by replayed ones. */
  void apply(long offset, ByteBuffer dst) throws IOException {
    int base = dst.position();
    long stop = offset + dst.remaining();
    Map.Entry<Long, Patch> first = patches.floorEntry(offset);
    Long from = first != null && first.getValue().end() > offset ? first.getKey()
        : patches.ceilingKey(offset);
    if (from == null || from >= stop) {
      return;
    }
    for (Patch p : patches.subMap(from, true, stop, false).values()) {
      long a = Math.max(p.start(), offset);
      long b = Math.min(p.end(), stop);
      if (a >= b) {
        continue;
      }
      int at = base + (int) (a - offset);
      int n = (int) (b - a);
      if (p.source().zero()) {
        for (int i = 0; i < n; i++) {
          dst.put(at + i, (byte) 0);
        }
      } else {
        ByteBuffer page = page(p.source());
        dst.put(at, page, (int) (a - p.source().fileOffset()), n);
      }
    }
  }

  /** The 4 KiB update a data descriptor describes, rebuilt from its data sector. */
  private ByteBuffer page(Descriptor d) throws IOException {
    ByteBuffer sector = ByteBuffer.allocate(Layout.PAGE).order(ByteOrder.LITTLE_ENDIAN);
    file.read(logOffset + d.dataPosition(), sector);
    sector.flip();
    return LogEntry.page(d, sector);
  }
}
