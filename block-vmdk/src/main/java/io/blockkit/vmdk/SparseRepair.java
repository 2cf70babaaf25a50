package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Repairs what {@link SparseCheck} finds in a plain (uncompressed) hosted sparse extent, keeping
 * every byte that reads. The caller holds the extent's write lock.
 *
 * <ul>
 *   <li>Corruptions ({@link CheckMode#REPAIR_ALL}): a grain over the header or tables, shared
 *       with another entry or overlapping a table gets a copy of the bytes it reads at the end of
 *       the file; a grain partly past the end gets its readable bytes (then zeros) in a new grain;
 *       one wholly past the end, or past the extent, reads nothing and is cleared (zeroed when
 *       the extent has zeroed grains). A grain table outside the file is replaced by a copy of
 *       its redundant table when that one is sound, else cleared; a redundant table outside the
 *       file by a copy of the primary one.
 *   <li>Leaks: redundant tables are rewritten from the primary ones (what reads), and the space
 *       no table uses is closed up by moving grains and tables down, then cut off the file. A
 *       move first points the entry at a copy and only then reuses the old space; when the new
 *       place overlaps the old one, the copy goes to the end of the file first. A crash during
 *       the repair leaves at worst leaks.
 * </ul>
 */
final class SparseRepair {
  private enum Kind { GRAIN, TABLE, REDUNDANT_TABLE, FIXED }

  /** A grain or table past the overhead, and the entry that points at it. */
  private record Item(Kind kind, long index, long start, long bytes) {
    long end() {
      return start + bytes;
    }
  }

  private final SparseExtent x;
  private final SparseHeader h;
  private final long gtBytes;
  private final long gtSpan;

  SparseRepair(SparseExtent x) {
    this.x = x;
    this.h = x.header;
    this.gtBytes = 4L * h.gtesPerGt;
    this.gtSpan = (gtBytes + SECTOR - 1) / SECTOR * SECTOR;
  }

  /** Repairs what {@code mode} allows; leaks are closed up only once no corruption remains. */
  void run(CheckMode mode) throws IOException {
    if (mode.repairsCorruptions()) {
      repairCorruptions();
    }
    syncRedundantTables();
    CheckReport.Builder now = new CheckReport.Builder();
    new SparseCheck(x, now, x.name, new DiskExtent.Totals()).run();
    if (now.corruptions() == 0) {
      compact();
    }
  }

  private boolean inFile(long sector, long bytes) throws IOException {
    long at = sector * SECTOR;
    return sector > 0 && at <= x.file.size() - bytes;
  }

  /**
   * First copies everything that moves to the end of the file (so every copy holds what read
   * before the repair), then rewrites the directory and table entries.
   */
  private void repairCorruptions() throws IOException {
    int[] gd = x.tables.gd.clone();
    int[] rgd = x.tables.rgd == null ? null : x.tables.rgd.clone();
    for (int gdi = 0; gdi < gd.length; gdi++) {
      long primary = Integer.toUnsignedLong(gd[gdi]);
      long redundant = rgd == null ? 0 : Integer.toUnsignedLong(rgd[gdi]);
      boolean redundantOk = redundant == 0 || inFile(redundant, gtBytes);
      if (primary != 0 && !inFile(primary, gtBytes)) {
        gd[gdi] = redundant != 0 && redundantOk && !x.tables.overlapsFixed(redundant * SECTOR, gtSpan)
            ? appendCopy(redundant * SECTOR, gtSpan) : 0;
      } else if (primary != 0 && x.tables.overlapsFixed(primary * SECTOR, gtSpan)) {
        gd[gdi] = appendCopy(primary * SECTOR, gtSpan); // the entries it reads now
      }
      if (redundantOk && redundant != 0 && x.tables.overlapsFixed(redundant * SECTOR, gtSpan)) {
        redundantOk = false;
      }
      if (!redundantOk) {
        rgd[gdi] = gd[gdi] != 0 ? appendCopy(Integer.toUnsignedLong(gd[gdi]) * SECTOR, gtSpan)
            : 0;
      }
    }
    List<Item> kept = fixed();
    for (Item t : tables(gd, rgd)) {
      if (overlaps(kept, t.start, t.bytes)) {
        int copy = appendCopy(t.start, t.bytes);
        (t.kind == Kind.TABLE ? gd : rgd)[(int) t.index] = copy;
        t = new Item(t.kind, t.index, copy * SECTOR, t.bytes);
      }
      kept.add(t);
    }
    Map<Long, Integer> entries = grainEntries(gd, kept);
    for (int gdi = 0; gdi < gd.length; gdi++) {
      if (gd[gdi] != x.tables.gd[gdi]) {
        x.tables.gts[gdi] = null;
        setDirectory(h.gdOffset, x.tables.gd, gdi, gd[gdi]);
      }
      if (rgd != null && rgd[gdi] != x.tables.rgd[gdi]) {
        setDirectory(h.rgdOffset, x.tables.rgd, gdi, rgd[gdi]);
      }
    }
    for (Map.Entry<Long, Integer> e : entries.entrySet()) {
      x.setEntry(e.getKey(), e.getValue());
    }
  }

  /** Copies the grains that need one; returns the new entries of the grains that change. */
  private Map<Long, Integer> grainEntries(int[] gd, List<Item> kept) throws IOException {
    Map<Long, Integer> out = new LinkedHashMap<>();
    long grain = x.grainBytes();
    long grains = (x.length + grain - 1) / grain;
    long metaEnd = h.overhead * SECTOR;
    boolean zeroedFlag = h.has(SparseHeader.FLAG_ZEROED_GRAIN);
    for (int gdi = 0; gdi < gd.length; gdi++) {
      if (gd[gdi] == 0) {
        continue;
      }
      int[] gt = x.tables.readInts(Integer.toUnsignedLong(gd[gdi]) * SECTOR, h.gtesPerGt);
      for (int i = 0; i < gt.length; i++) {
        long g = (long) gdi * h.gtesPerGt + i;
        int e = gt[i];
        if (e == 0 || e == SparseExtent.ZEROED && zeroedFlag) {
          continue;
        }
        long at = Integer.toUnsignedLong(e) * SECTOR;
        long span = Math.min(grain, x.length - g * grain);
        long fileLength = x.file.size();
        if (g >= grains || at >= fileLength) {
          out.put(g, zeroedFlag && g < grains ? SparseExtent.ZEROED : 0);
        } else if (at + span > fileLength || at < metaEnd || overlaps(kept, at, grain)) {
          int copy = appendCopy(at, grain);
          out.put(g, copy);
          kept.add(new Item(Kind.GRAIN, g, copy * SECTOR, grain));
        } else {
          kept.add(new Item(Kind.GRAIN, g, at, grain));
        }
      }
    }
    return out;
  }

  private List<Item> fixed() {
    List<Item> out = new ArrayList<>();
    for (long[] r : x.tables.fixedRegions()) {
      out.add(new Item(Kind.FIXED, -1, r[0], r[1] - r[0]));
    }
    return out;
  }

  private static boolean overlaps(List<Item> items, long at, long bytes) {
    for (Item it : items) {
      if (at < it.end() && it.start < at + bytes) {
        return true;
      }
    }
    return false;
  }

  /** Rewrites every redundant table that differs from its primary table. */
  private void syncRedundantTables() throws IOException {
    if (x.tables.rgd == null) {
      return;
    }
    for (int gdi = 0; gdi < x.tables.gd.length; gdi++) {
      long redundant = Integer.toUnsignedLong(x.tables.rgd[gdi]);
      if (redundant == 0 || !inFile(redundant, gtBytes)) {
        continue;
      }
      if (x.tables.gd[gdi] == 0) {
        setDirectory(h.rgdOffset, x.tables.rgd, gdi, 0); // a table a crash left half made
        continue;
      }
      int[] gt = x.tables.table(gdi);
      if (gt != null && !Arrays.equals(gt, x.tables.readInts(redundant * SECTOR, gt.length))) {
        ByteBuffer b = ByteBuffer.allocate(gt.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(gt);
        x.file.write(redundant * SECTOR, b);
      }
    }
  }

  private List<Item> tables() {
    return tables(x.tables.gd, x.tables.rgd);
  }

  /** The tables past the overhead. */
  private List<Item> tables(int[] gd, int[] rgd) {
    List<Item> out = new ArrayList<>();
    long metaEnd = h.overhead;
    for (int gdi = 0; gdi < gd.length; gdi++) {
      if (Integer.toUnsignedLong(gd[gdi]) >= metaEnd) {
        out.add(new Item(Kind.TABLE, gdi, Integer.toUnsignedLong(gd[gdi]) * SECTOR, gtSpan));
      }
      if (rgd != null && Integer.toUnsignedLong(rgd[gdi]) >= metaEnd) {
        out.add(new Item(Kind.REDUNDANT_TABLE, gdi, Integer.toUnsignedLong(rgd[gdi]) * SECTOR,
            gtSpan));
      }
    }
    return out;
  }

  /**
   * Moves every grain and table down over the space no table uses, then cuts the file after the
   * last one. Does nothing when the items overlap (a corruption the caller did not repair).
   */
  private void compact() throws IOException {
    List<Item> items = new ArrayList<>(tables());
    long grain = x.grainBytes();
    boolean zeroedFlag = h.has(SparseHeader.FLAG_ZEROED_GRAIN);
    for (int gdi = 0; gdi < x.tables.gd.length; gdi++) {
      int[] gt = x.tables.table(gdi);
      for (int i = 0; gt != null && i < gt.length; i++) {
        long at = Integer.toUnsignedLong(gt[i]);
        if (at >= h.overhead && !(gt[i] == SparseExtent.ZEROED && zeroedFlag)) {
          items.add(new Item(Kind.GRAIN, (long) gdi * h.gtesPerGt + i, at * SECTOR, grain));
        }
      }
    }
    List<Item> fixed = new ArrayList<>();
    for (Item f : fixed()) {
      if (f.end() > h.overhead * SECTOR) {
        fixed.add(f);
      }
    }
    items.addAll(fixed);
    items.sort(Comparator.comparingLong(Item::start));
    long pos = h.overhead * SECTOR;
    for (Item it : items) {
      if (it.start < pos && it.kind != Kind.FIXED) {
        return;
      }
      pos = Math.max(pos, it.end());
    }
    pos = h.overhead * SECTOR;
    for (Item it : items) {
      if (it.kind != Kind.FIXED && it.start > pos && !overlaps(fixed, pos, it.bytes)) {
        if (it.start - pos < it.bytes) {
          point(it, appendCopy(it.start, it.bytes)); // the new place overlaps the old one
        }
        ByteBuffer data = ByteBuffer.allocate((int) it.bytes);
        x.file.read(it.start, data.duplicate().limit((int) Math.min(it.bytes,
            x.file.size() - it.start)));
        x.file.write(pos, data);
        point(it, (int) (pos / SECTOR));
        pos += it.bytes;
      } else {
        pos = Math.max(pos, it.end());
      }
    }
    long end = Math.max(pos, h.overhead * SECTOR);
    if (x.file.size() > end && x.file.capabilities().contains(Capability.RESIZE)) {
      x.file.truncate(end);
      x.nextFree = (end + SECTOR - 1) / SECTOR;
    }
  }

  /** Points the entry of {@code it} at {@code sector}. */
  private void point(Item it, int sector) throws IOException {
    switch (it.kind) {
      case GRAIN -> x.setEntry(it.index, sector);
      case TABLE -> setDirectory(h.gdOffset, x.tables.gd, (int) it.index, sector);
      case REDUNDANT_TABLE -> setDirectory(h.rgdOffset, x.tables.rgd, (int) it.index, sector);
      default -> throw new IllegalStateException();
    }
  }

  /** Copies {@code bytes} at byte {@code at} to the end of the file; returns its sector. */
  private int appendCopy(long at, long bytes) throws IOException {
    ByteBuffer data = ByteBuffer.allocate((int) bytes);
    x.file.read(at, data.duplicate().limit((int) Math.min(bytes, x.file.size() - at)));
    long sector = Math.max(x.nextFree, (x.file.size() + SECTOR - 1) / SECTOR);
    x.file.write(sector * SECTOR, data);
    x.nextFree = sector + bytes / SECTOR;
    return (int) sector;
  }

  private void setDirectory(long dirSector, int[] dir, int gdi, int value) throws IOException {
    ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
    x.file.write(dirSector * SECTOR + 4L * gdi, v);
    dir[gdi] = value;
  }
}
