package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;
import static io.blockkit.vmdk.SparseHeader.roundUp;

import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The check of one sparse extent: what qemu-img checks (grains past the end of the file) and
 * more: tables and grains overlapping the header or the tables, grains shared by two entries,
 * redundant tables that lag the primary ones, and space no table references.
 */
final class SparseCheck {
  private final SparseExtent x;
  private final CheckReport.Builder report;
  private final String name;
  private final DiskExtent.Totals totals;

  SparseCheck(SparseExtent x, CheckReport.Builder report, String name,
      DiskExtent.Totals totals) {
    this.x = x;
    this.report = report;
    this.name = name;
    this.totals = totals;
  }

  void run() throws IOException {
    SparseHeader h = x.header;
    long fileLength = x.file.size();
    long grain = x.grainBytes();
    long metaEnd = h.overhead * SECTOR;
    long gtBytes = 4L * h.gtesPerGt;
    boolean compressed = h.has(SparseHeader.FLAG_COMPRESSED);
    List<long[]> used = new ArrayList<>(); // [start, end) byte ranges past the overhead
    Map<Long, Long> owner = new HashMap<>();
    long grains = (x.length + grain - 1) / grain;
    totals.total += grains;
    long previous = -1;
    long end = metaEnd;
    for (int gdi = 0; gdi < x.tables.gd.length; gdi++) {
      long gtAt = Integer.toUnsignedLong(x.tables.gd[gdi]) * SECTOR;
      if (x.tables.gd[gdi] == 0) {
        continue;
      }
      if (gtAt > fileLength - gtBytes) {
        report.corruption(name + ": grain directory entry " + gdi + " points to sector "
            + gtAt / SECTOR + ", past the end of the " + fileLength + "-byte file");
        continue;
      }
      if (gtAt < SECTOR) {
        report.corruption(name + ": grain directory entry " + gdi + " points into the header");
        continue;
      }
      if (x.tables.overlapsFixed(gtAt, roundUp(gtBytes))) {
        report.corruption(name + ": grain table " + gdi + " at sector " + gtAt / SECTOR
            + " overlaps the header, the descriptor or a grain directory");
      } else if (gtAt >= metaEnd) {
        used.add(new long[] {gtAt, gtAt + roundUp(gtBytes)});
      }
      int[] gt = x.tables.table(gdi);
      int[] redundant = redundantTable(gdi, fileLength, gtBytes, used);
      for (int i = 0; i < gt.length; i++) {
        long g = (long) gdi * h.gtesPerGt + i;
        int e = gt[i];
        if (redundant != null && redundant[i] != e) {
          report.leak(name + ": grain " + g + ": the redundant grain table holds sector "
              + Integer.toUnsignedString(redundant[i]) + ", the primary "
              + Integer.toUnsignedString(e) + " (a write interrupted between the two; the "
              + "primary is used)");
        }
        if (e == 0 || e == SparseExtent.ZEROED && h.has(SparseHeader.FLAG_ZEROED_GRAIN)) {
          continue;
        }
        long at = Integer.toUnsignedLong(e) * SECTOR;
        long span = compressed ? SECTOR : Math.min(grain, x.length - g * grain);
        if (g >= grains) {
          report.corruption(name + ": grain table " + gdi + " entry " + i + " maps grain " + g
              + ", past the extent's " + grains + " grains");
          continue;
        }
        if (at + span > fileLength) {
          report.corruption(name + ": cluster offset for grain " + g + " (sector "
              + at / SECTOR + ") points after the end of the " + fileLength + "-byte file");
          continue;
        }
        if (at < metaEnd) {
          report.corruption(name + ": grain " + g + " at sector " + at / SECTOR
              + " overlaps the header and tables (which end at sector " + h.overhead + ")");
          continue;
        }
        Long other = owner.putIfAbsent(at, g);
        if (other != null) {
          report.corruption(name + ": grains " + other + " and " + g + " both point to sector "
              + at / SECTOR);
          continue;
        }
        totals.allocated++;
        if (!compressed && previous >= 0 && at != previous + grain) {
          totals.fragmented++;
        }
        previous = at;
        used.add(new long[] {at, at + (compressed ? SECTOR : grain)});
        end = Math.max(end, at + span);
      }
    }
    if (!compressed) {
      // The header, descriptor and directories may overlap one another (the open accepted
      // them): they count once, as one used range each run.
      List<long[]> fixed = new ArrayList<>(x.tables.fixedRegions());
      fixed.sort((a, b) -> Long.compare(a[0], b[0]));
      long[] run = null;
      for (long[] r : fixed) {
        if (run != null && r[0] <= run[1]) {
          run[1] = Math.max(run[1], r[1]);
          continue;
        }
        if (run != null && run[1] > metaEnd) {
          used.add(new long[] {Math.max(run[0], metaEnd), run[1]});
        }
        run = r.clone();
      }
      if (run != null && run[1] > metaEnd) {
        used.add(new long[] {Math.max(run[0], metaEnd), run[1]});
      }
      reportUnreferenced(used, metaEnd, fileLength);
    }
    totals.endOffset = Math.max(totals.endOffset, Math.max(end, fileLength));
  }

  private int[] redundantTable(int gdi, long fileLength, long gtBytes, List<long[]> used)
      throws IOException {
    if (x.tables.rgd == null || x.tables.rgd[gdi] == 0) {
      return null;
    }
    long at = Integer.toUnsignedLong(x.tables.rgd[gdi]) * SECTOR;
    if (at < SECTOR || at > fileLength - gtBytes) {
      report.corruption(name + ": redundant grain directory entry " + gdi + " points to sector "
          + at / SECTOR + ", outside the " + fileLength + "-byte file's tables");
      return null;
    }
    if (x.tables.overlapsFixed(at, roundUp(gtBytes))) {
      report.corruption(name + ": redundant grain table " + gdi + " at sector " + at / SECTOR
          + " overlaps the header, the descriptor or a grain directory");
      return null;
    }
    if (at >= x.header.overhead * SECTOR) {
      used.add(new long[] {at, at + roundUp(gtBytes)});
    }
    return x.tables.readInts(at, x.header.gtesPerGt);
  }

  /**
   * Space past the tables that no GT references: grains a crash appended before their entry was
   * written. Reported as leaks, in grains.
   */
  private void reportUnreferenced(List<long[]> used, long metaEnd, long fileLength) {
    used.sort((a, b) -> Long.compare(a[0], b[0]));
    long pos = metaEnd;
    long unreferenced = 0;
    long firstGap = -1;
    for (long[] r : used) {
      if (r[0] < pos) {
        report.corruption(name + ": the grain or grain table at byte " + r[0]
            + " overlaps the one before it, which ends at byte " + pos);
      }
      if (r[0] > pos) {
        unreferenced += r[0] - pos;
        firstGap = firstGap < 0 ? pos : firstGap;
      }
      pos = Math.max(pos, r[1]);
    }
    if (fileLength > pos) {
      unreferenced += fileLength - pos;
      firstGap = firstGap < 0 ? pos : firstGap;
    }
    if (unreferenced > 0) {
      long grains = (unreferenced + x.grainBytes() - 1) / x.grainBytes();
      report.leaks(grains, name + ": " + unreferenced + " bytes past the tables are not used "
          + "by any grain table (first at offset " + firstGap + ")");
    }
  }
}
