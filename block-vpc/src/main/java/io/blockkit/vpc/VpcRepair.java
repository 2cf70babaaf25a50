package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The repairs of a dynamic or differencing image's blocks and header; {@link VpcCheck} places the
 * footers afterwards. Every byte that read before reads the same after: blocks are copied as the
 * file holds them before any entry or metadata changes, so a block that overlapped the BAT or the
 * header keeps the bytes it read. Order: copies and padding, flush, BAT entries, flush, header;
 * then leaks are closed by moving the last block into the first hole it fits (copy, flush, entry,
 * flush), so a crash at any point leaves at most leaks and the corruptions not repaired yet.
 */
final class VpcRepair {
  private final VpcFile layout;
  private final BlockDevice file;
  private final Blocks blocks;
  private final FileSpace space;
  private final long footprint;
  private final List<String> log;

  VpcRepair(VpcFile layout, BlockDevice file, Blocks blocks, List<String> log) {
    this.layout = layout;
    this.file = file;
    this.blocks = blocks;
    this.space = blocks.space;
    this.footprint = layout.blockFootprint();
    this.log = log;
  }

  /**
   * @param scan the placement check found
   * @param headerBad whether the header's checksum is wrong
   * @param all repair corruptions too, not only leaks
   */
  void run(BlockScan scan, boolean headerBad, boolean all) throws IOException {
    if (!all && !scan.findings.isEmpty()) {
      // A BAT write could change what a block lying over the BAT reads: corruptions first.
      return;
    }
    blocks.rescan();
    Map<Integer, Integer> entries = new LinkedHashMap<>();
    for (int e : scan.beyondDisk) {
      entries.put(e, DynamicHeader.UNALLOCATED);
      log.add("Repaired: BAT entry " + e + " lies past the disk and is dropped");
    }
    if (all) {
      Map<Integer, Set<BlockScan.Kind>> kinds = new LinkedHashMap<>();
      for (BlockScan.Finding f : scan.findings) {
        kinds.computeIfAbsent(f.block(), b -> EnumSet.noneOf(BlockScan.Kind.class)).add(f.kind());
      }
      for (Map.Entry<Integer, Set<BlockScan.Kind>> k : kinds.entrySet()) {
        repairBlock(k.getKey(), k.getValue(), entries);
      }
    }
    blocks.commits.setEntries(entries);
    if (all && headerBad) {
      DynamicHeader h = DynamicHeader.read(VpcFile.read(file, layout.headerOffset,
          DynamicHeader.SIZE));
      file.write(layout.headerOffset, h.resealed().encode());
      file.flush();
      log.add("Repaired: the dynamic header's checksum");
    }
    BlockScan now = blocks.rescan();
    if (now.findings.isEmpty()) {
      closeHoles(now);
    }
  }

  /**
   * One block's repair: a block nothing of which can be read is dropped (a differencing image
   * gets a block of zeros instead, so the parent does not show through); a block cut short is
   * padded with zeros; a block sharing bytes with anything is copied to a new block.
   */
  private void repairBlock(int block, Set<BlockScan.Kind> kinds, Map<Integer, Integer> entries)
      throws IOException {
    if (kinds.contains(BlockScan.Kind.UNREADABLE)) {
      if (layout.isDifferencing()) {
        entries.put(block, (int) (newZeroBlock(block) / VpcFile.SECTOR));
        log.add("Repaired: block " + block + " lay past the end of the file; it now reads zeros "
            + "(a new block, so the parent does not show through)");
      } else {
        entries.put(block, DynamicHeader.UNALLOCATED);
        log.add("Repaired: block " + block + " lay past the end of the file; it is unallocated "
            + "and reads zeros");
      }
      return;
    }
    if (kinds.contains(BlockScan.Kind.CUT_SHORT)) {
      pad(block);
      log.add("Repaired: block " + block + " was cut short by the end of the file; padded with "
          + "zeros");
    }
    if (kinds.contains(BlockScan.Kind.OVERLAPS_BLOCK)
        || kinds.contains(BlockScan.Kind.OVERLAPS_METADATA)
        || kinds.contains(BlockScan.Kind.OVERLAPS_FOOTER)) {
      long to = copyToNewBlock(block);
      entries.put(block, (int) (to / VpcFile.SECTOR));
      log.add("Repaired: block " + block + " shared bytes with " + (kinds.contains(
          BlockScan.Kind.OVERLAPS_BLOCK) ? "another block" : "the image's metadata")
          + "; it now reads the same bytes from a block of its own at offset " + to);
    }
  }

  /** Moves the last block into the first hole before it until no hole is left before it. */
  private void closeHoles(BlockScan scan) throws IOException {
    BlockScan s = scan;
    while (!s.holes.isEmpty() && s.lastBlockStart() > s.holes.get(0).start()) {
      int last = s.lastBlock();
      long to = s.holes.get(0).start();
      copyBlockTo(last, to);
      blocks.commits.setEntries(Map.of(last, (int) (to / VpcFile.SECTOR)));
      log.add("Repaired: block " + last + " moved into unused space at offset " + to);
      s = blocks.rescan();
    }
  }

  // ---------------------------------------------------------------- block copies
  // With the layout lock held exclusively and all metadata committed; the entries pointing at
  // what these write are set afterwards, by Commits.setEntries (flush, BAT, flush).

  /** Copies a block's bitmap and data as the file holds them to a new block; returns where. */
  private long copyToNewBlock(int block) throws IOException {
    long to = space.reserve(block).offset();
    copyBlockTo(block, to);
    return to;
  }

  /** A new block whose every sector is present and zero; returns where it lies. */
  private long newZeroBlock(int block) throws IOException {
    FileSpace.Reservation r = space.reserve(block);
    space.zeroStale(r);
    byte[] bm = new byte[layout.bitmapBytes];
    Arrays.fill(bm, (byte) 0xff);
    file.write(r.offset(), ByteBuffer.wrap(bm));
    space.grew(r.offset() + footprint);
    return r.offset();
  }

  /** Zeros from the end of the file to the end of a block cut short by it. */
  private void pad(int block) throws IOException {
    long end = Bat.offsetOf(blocks.bat.get(block)) + footprint;
    long eof = file.size();
    if (end > eof) {
      file.writeZeroes(eof, end - eof);
      space.grew(end);
    }
  }

  /**
   * Copies a block's bitmap and data as the file holds them (zeros past its end) into
   * unreferenced space at {@code to}.
   */
  private void copyBlockTo(int block, long to) throws IOException {
    long from = Bat.offsetOf(blocks.bat.get(block));
    long eof = file.size();
    ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(footprint, 1 << 20));
    for (long done = 0; done < footprint; done += buffer.capacity()) {
      int n = (int) Math.min(buffer.capacity(), footprint - done);
      buffer.clear().limit(n);
      int stored = (int) Math.max(0, Math.min(n, eof - from - done));
      if (stored > 0) {
        file.read(from + done, buffer.slice().limit(stored));
      }
      Arrays.fill(buffer.array(), stored, n, (byte) 0);
      buffer.position(0).limit(n);
      file.write(to + done, buffer);
    }
    space.grew(to + footprint);
  }
}
