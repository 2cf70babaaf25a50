package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Check and repair of an open VHD (its layout lock held exclusively). Corruptions: a footer (the
 * one at the end, or the copy at offset 0) missing, damaged or different from the one open
 * trusted, a header checksum, blocks past the end of the file or overlapping each other, the
 * metadata or the footer at the end. Leaks: unreferenced space a whole block fits in, space after
 * the last block, BAT entries past the virtual disk. The package documentation has the repairs
 * and what each keeps.
 */
final class VpcCheck {
  /** Findings of one kind listed before the rest are counted in one line. */
  private static final int LISTED = 20;

  private final VpcImage image;
  private final VpcFile layout;
  private final BlockDevice file;
  private final Blocks blocks;

  VpcCheck(VpcImage image) {
    this.image = image;
    this.layout = image.layout;
    this.file = image.file();
    this.blocks = image.blocks();
  }

  /** What one pass found, with the facts a repair needs. */
  private static final class Findings {
    final Map<String, List<String>> corruptions = new LinkedHashMap<>();
    final Map<String, List<String>> leaks = new LinkedHashMap<>();
    final List<String> notes = new ArrayList<>();
    boolean copyBad;
    boolean endBad;
    boolean headerBad;
    long dataEnd;
    BlockScan scan;

    void corruption(String kind, String message) {
      corruptions.computeIfAbsent(kind, k -> new ArrayList<>()).add(message);
    }

    void leak(String kind, String message) {
      leaks.computeIfAbsent(kind, k -> new ArrayList<>()).add(message);
    }

    long corruptionCount() {
      return corruptions.values().stream().mapToLong(List::size).sum();
    }

    long leakCount() {
      return leaks.values().stream().mapToLong(List::size).sum();
    }
  }

  CheckReport run(CheckMode mode) throws IOException {
    Findings before = examine();
    if (mode == CheckMode.REPORT) {
      return report(before, List.of(), 0, 0);
    }
    List<String> repaired = new ArrayList<>();
    if (blocks != null) {
      blocks.flush();
      new VpcRepair(layout, file, blocks, repaired).run(before.scan, before.headerBad,
          mode.repairsCorruptions());
    }
    Findings now = examine();
    boolean clean = now.corruptionCount() == 0;
    if (mode.repairsCorruptions() || clean) {
      placeFooters(now, repaired);
      now = examine();
    } else if (now.leakCount() > 0) {
      repaired.add("Leaks were not repaired: corruptions remain (repair them with -r all)");
    }
    return report(now, repaired, before.corruptionCount() - now.corruptionCount(),
        before.leakCount() - now.leakCount());
  }

  /**
   * Puts the trusted footer right after the data (the end of the last block, or a fixed disk's
   * data) and cuts the file there, and rewrites a damaged copy at offset 0. The end footer is
   * written before the file is cut, so a crash in between leaves at most space after it.
   */
  private void placeFooters(Findings f, List<String> repaired) throws IOException {
    long length = file.size();
    if (f.endBad || length != f.dataEnd + Footer.SIZE) {
      file.write(f.dataEnd, layout.footer.encode());
      file.flush();
      if (length > f.dataEnd + Footer.SIZE) {
        file.truncate(f.dataEnd + Footer.SIZE);
      }
      repaired.add("Repaired: the footer is at the end of the file again (offset " + f.dataEnd
          + "), the file " + (f.dataEnd + Footer.SIZE) + " bytes long");
    }
    if (f.copyBad) {
      file.write(0, layout.footer.encode());
      repaired.add("Repaired: the footer copy at offset 0");
    }
    file.flush();
    if (blocks != null) {
      blocks.rescan();
    }
  }

  private Findings examine() throws IOException {
    Findings f = new Findings();
    long length = file.size();
    Footer end = length >= Footer.SIZE
        ? Footer.read(VpcFile.read(file, length - Footer.SIZE, Footer.SIZE)) : null;
    f.endBad = end == null || !end.equals(layout.footer);
    if (f.endBad) {
      f.corruption("footer", "the footer at the end of the file (offset "
          + Math.max(0, length - Footer.SIZE) + ") " + (end == null ? "is missing"
              : end.problem() != null ? end.problem() : "differs from the footer in use"));
    }
    long footerAt = FileSpace.footerPlace(file, length);
    if (layout.isFixed()) {
      f.dataEnd = layout.footer.currentSize();
      if (footerAt > f.dataEnd) {
        f.leak("tail", (footerAt - f.dataEnd) + " bytes between the end of the data (offset "
            + f.dataEnd + ") and the footer belong to no sector of the disk");
      }
      return f;
    }
    Footer copy = Footer.read(VpcFile.read(file, 0, Footer.SIZE));
    f.copyBad = !copy.equals(layout.footer);
    if (f.copyBad) {
      f.corruption("footer", "the footer copy at offset 0 " + (copy.problem() != null
          ? copy.problem() : "differs from the footer in use"));
    }
    DynamicHeader header = DynamicHeader.read(VpcFile.read(file, layout.headerOffset,
        DynamicHeader.SIZE));
    f.headerBad = !header.checksumValid();
    if (f.headerBad) {
      f.corruption("header", "the dynamic header's checksum (at offset "
          + (layout.headerOffset + DynamicHeader.CHECKSUM_OFFSET) + ") is 0x"
          + Long.toHexString(header.storedChecksum()) + ", its bytes sum to 0x"
          + Long.toHexString(Footer.checksum(header.raw(), DynamicHeader.CHECKSUM_OFFSET)));
    }
    for (String p : layout.problems) {
      if (p.startsWith("parent locator")) {
        f.notes.add("Warning: " + p);
      }
    }
    BlockScan scan = BlockScan.of(layout, blocks.bat, length, footerAt);
    f.scan = scan;
    f.dataEnd = scan.blocksEnd();
    for (BlockScan.Finding b : scan.findings) {
      f.corruption("block", b.message());
    }
    for (int e : scan.beyondDisk) {
      f.leak("beyond", "BAT entry " + e + " (past the " + layout.usedEntries() + " entries the "
          + "disk uses) refers to the block at offset " + Bat.offsetOf(blocks.bat.get(e)));
    }
    for (BlockScan.Gap g : scan.holes) {
      f.leak("hole", g.length() + " bytes at offset " + g.start() + ".." + g.end()
          + " belong to no block");
    }
    if (scan.tail != null) {
      f.leak("tail", scan.tail.length() + " bytes after the last block (offset "
          + scan.tail.start() + ".." + scan.tail.end() + ") belong to no block");
    }
    return f;
  }

  private CheckReport report(Findings f, List<String> repaired, long corruptionsFixed,
      long leaksFixed) {
    CheckReport.Builder r = new CheckReport.Builder();
    for (List<String> kind : f.corruptions.values()) {
      for (int i = 0; i < kind.size(); i++) {
        if (i < LISTED) {
          r.corruption(kind.get(i));
        } else {
          r.corruptions(kind.size() - LISTED, "... and " + (kind.size() - LISTED) + " more");
          break;
        }
      }
    }
    for (List<String> kind : f.leaks.values()) {
      for (int i = 0; i < kind.size(); i++) {
        if (i < LISTED) {
          r.leak(kind.get(i));
        } else {
          r.leaks(kind.size() - LISTED, "... and " + (kind.size() - LISTED) + " more");
          break;
        }
      }
    }
    f.notes.forEach(r::info);
    repaired.forEach(r::info);
    r.corruptionsFixed(Math.max(0, corruptionsFixed)).leaksFixed(Math.max(0, leaksFixed));
    r.imageEndOffset(f.dataEnd + Footer.SIZE);
    if (f.scan != null) {
      r.clusters(layout.usedEntries(), f.scan.allocatedInDisk(), f.scan.fragmented());
    }
    return r.build();
  }
}
