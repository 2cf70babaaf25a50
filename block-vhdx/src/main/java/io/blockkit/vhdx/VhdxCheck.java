package io.blockkit.vhdx;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.vhdx.LogEntry.Update;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Check and repair of an open image (the caller holds the layout's write lock). See the package
 * documentation for the findings and what each repair keeps.
 */
final class VhdxCheck {
  static final int MESSAGES_PER_KIND = 20;

  /** What a repair does for one BAT entry. */
  enum Action {
    /** Clear reserved bits (the state and offset stay). */
    CLEAR_RESERVED,
    /** Make the entry ZERO (a block whose data cannot be read, or a reserved state). */
    ZERO,
    /** Make a PARTIALLY_PRESENT block without a usable bitmap FULLY_PRESENT (it reads so). */
    FULLY,
    /** Make a sector bitmap entry NOT_PRESENT. */
    NO_BITMAP,
    /** Copy the block (or bitmap block) to new space: it shares space with something else. */
    MOVE,
    /** Grow the file over the end of a block the file cuts short. */
    PAD,
    /** A fixed image's block past the end of the file: a new zeroed block. */
    REALLOCATE
  }

  /** One repair, for the entry at BAT index {@code index}. */
  private record Fix(long index, Action action, long value, long length) {}

  /** One analysis: counts, capped messages and the repairs they call for. */
  private static final class Findings {
    final Map<String, List<String>> messages = new LinkedHashMap<>();
    final Map<String, Long> counts = new LinkedHashMap<>();
    final List<Fix> fixes = new ArrayList<>();
    final List<String> notes = new ArrayList<>();
    long corruptions;
    long leaks;
    long leakFrom = -1;
    long usedEnd;
    long allocated;
    long fragmented;

    void corruption(String kind, String message, Fix fix) {
      corruptions++;
      add(kind, "ERROR: " + message);
      if (fix != null) {
        fixes.add(fix);
      }
    }

    private void add(String kind, String message) {
      long n = counts.merge(kind, 1L, Long::sum);
      if (n <= MESSAGES_PER_KIND) {
        messages.computeIfAbsent(kind, k -> new ArrayList<>()).add(message);
      }
    }
  }

  private final VhdxImage img;
  private final Bat bat;
  private final Geometry g;

  VhdxCheck(VhdxImage img) {
    this.img = img;
    this.bat = img.bat;
    this.g = img.geometry;
  }

  CheckReport run(CheckMode mode) throws IOException {
    Findings found = analyze();
    if (!mode.repairsLeaks()) {
      return report(found, found, List.of(), 0, 0);
    }
    List<String> repaired = new ArrayList<>();
    img.writer.lock.lock();
    try {
      if (mode.repairsCorruptions() && !found.fixes.isEmpty()) {
        repair(found, repaired);
      }
      if (!found.notes.isEmpty()) {
        restoreRedundancy(repaired);
      }
      if (found.leakFrom >= 0) {
        // Every block an entry uses, corrupt or not, lies below it: nothing readable is cut.
        Findings now = analyze();
        if (now.leakFrom >= 0) {
          cut(now.leakFrom, repaired);
        }
      }
      img.writer.flush();
    } finally {
      img.writer.lock.unlock();
    }
    Findings after = analyze();
    return report(found, after, repaired, Math.max(0, found.corruptions - after.corruptions),
        Math.max(0, found.leaks - after.leaks));
  }

  private CheckReport report(Findings before, Findings after, List<String> repaired,
      long corruptionsFixed, long leaksFixed) {
    List<String> messages = new ArrayList<>(before.notes);
    if (img.logNote != null) {
      messages.add("Log: " + img.logNote);
    }
    for (Map.Entry<String, List<String>> e : before.messages.entrySet()) {
      messages.addAll(e.getValue());
      long more = before.counts.get(e.getKey()) - e.getValue().size();
      if (more > 0) {
        messages.add("... and " + more + " more " + e.getKey());
      }
    }
    repaired.forEach(m -> messages.add("Repaired: " + m));
    return new CheckReport(after.corruptions, after.leaks, 0, corruptionsFixed, leaksFixed,
        after.usedEnd, g.dataBlocks(), after.allocated, after.fragmented, messages);
  }

  // ---------------------------------------------------------------- analysis

  private Findings analyze() throws IOException {
    Findings f = new Findings();
    if (img.headers.otherSlotProblem() != null) {
      f.notes.add("The header slot that is not current " + img.headers.otherSlotProblem()
          + " (the current one, at offset " + img.headers.currentOffset() + ", is valid)");
    }
    if (img.regionProblem != null) {
      f.notes.add("Region table: " + img.regionProblem);
    }
    long eof = img.file.length();
    SpaceMap used = new SpaceMap(eof);
    VhdxHeader h = img.headers.current();
    used.use(0, Layout.HEADER_SECTION);
    used.use(h.logOffset(), h.logLength());
    long usedEnd = Math.max(Layout.HEADER_SECTION, h.logOffset() + h.logLength());
    for (RegionTable.Region r : img.regions.entries()) {
      used.use(r.offset(), r.length());
      usedEnd = Math.max(usedEnd, r.end());
    }
    long batNeeds = img.regions.bat().offset() + 8 * g.entries();
    if (batNeeds > eof) {
      f.corruption("regions cut short", "the BAT (at " + img.regions.bat().offset() + ".."
          + batNeeds + ") is cut short by the end of the file (" + eof + " bytes); its missing "
          + "entries read as NOT_PRESENT", new Fix(-1, Action.PAD, img.regions.bat().end(), 0));
    }
    long ratio = g.chunkRatio();
    long lastHost = -1;
    long count = Math.min(bat.entries, g.entries());
    List<Long> lostBitmaps = new ArrayList<>();
    for (long i = 0; i < count; i++) {
      long e = bat.entry(i);
      boolean bitmap = i % (ratio + 1) == ratio;
      long block = i - i / (ratio + 1);
      if ((e & BatState.RESERVED_MASK) != 0) {
        f.corruption("entries with reserved bits", where(bitmap, i, block) + ": BAT entry "
            + String.format("0x%016x", e) + " (at offset " + bat.entryOffset(i) + ") has "
            + "reserved bits set", new Fix(i, Action.CLEAR_RESERVED, 0, 0));
      }
      int state = BatState.state(e);
      long host = BatState.offset(e);
      if (bitmap) {
        int fixes = f.fixes.size();
        usedEnd = Math.max(usedEnd, checkBitmap(f, i, block / ratio, state, host, used, eof));
        if (f.fixes.subList(fixes, f.fixes.size()).stream()
            .anyMatch(x -> x.action() == Action.NO_BITMAP)) {
          lostBitmaps.add(block / ratio);
        }
      } else if (block < g.dataBlocks()) {
        long end = checkPayload(f, i, block, state, host, used, eof);
        usedEnd = Math.max(usedEnd, end);
        if (BatState.present(state)) {
          f.allocated++;
          if (lastHost >= 0 && host != lastHost + g.blockSize()) {
            f.fragmented++;
          }
          lastHost = host;
        }
      }
      if ((i & 0xffff) == 0xffff) {
        bat.pages.trim();
      }
    }
    // Partially present blocks of a chunk whose bitmap goes read as FULLY_PRESENT after it.
    for (long chunk : lostBitmaps) {
      for (long b = chunk * ratio; b < Math.min(g.dataBlocks(), (chunk + 1) * ratio); b++) {
        if (BatState.state(bat.payload(b)) == BatState.PARTIALLY_PRESENT) {
          f.fixes.add(new Fix(g.payloadIndex(b), Action.FULLY, 0, 0));
        }
      }
    }
    f.usedEnd = usedEnd;
    long keep = Layout.roundUp(usedEnd, Layout.MIB);
    if (eof > keep) {
      f.leaks++;
      f.leakFrom = keep;
      f.add("space after the last structure", "Leaked: " + (eof - keep) + " bytes after the "
          + "last structure in use: file offset " + keep + ".." + eof);
    }
    return f;
  }

  private static String where(boolean bitmap, long index, long block) {
    return bitmap ? "BAT entry " + index : "block " + block;
  }

  /** Checks a payload entry; returns the end of the space it uses. */
  private long checkPayload(Findings f, long i, long block, int state, long host, SpaceMap used,
      long eof) throws IOException {
    String name = "block " + block;
    if (state == 4 || state == 5) {
      f.corruption("entries in a reserved state", name + ": BAT entry (at offset "
          + bat.entryOffset(i) + ") has reserved state " + state + "; it reads as zeros",
          new Fix(i, Action.ZERO, 0, 0));
      return 0;
    }
    if (state == BatState.UNDEFINED || state == BatState.UNMAPPED) {
      // Their offset may keep old contents for other readers: the space stays in use.
      if (host != 0 && host < eof) {
        used.use(host, g.blockSize());
        return Math.min(eof, host + g.blockSize());
      }
      return 0;
    }
    if (!BatState.present(state)) {
      return 0;
    }
    if (state == BatState.PARTIALLY_PRESENT && !bat.usesBitmap(block)) {
      f.corruption("partially present blocks without a sector bitmap", name + ": "
          + "PARTIALLY_PRESENT " + (g.differencing() ? "but its chunk has no sector bitmap block"
          : "in an image that is not differencing") + "; it reads as FULLY_PRESENT",
          new Fix(i, Action.FULLY, 0, 0));
    }
    long need = img.blockLength(block);
    return checkSpace(f, i, name, "data", host, g.blockSize(), need, used, eof);
  }

  /** Checks a sector bitmap entry; returns the end of the space it uses. */
  private long checkBitmap(Findings f, long i, long chunk, int state, long host, SpaceMap used,
      long eof) throws IOException {
    if (state == BatState.SB_NOT_PRESENT) {
      return 0;
    }
    String name = "chunk " + chunk;
    if (!g.differencing() || state != BatState.SB_PRESENT) {
      f.corruption("invalid sector bitmap entries", name + ": sector bitmap entry (BAT entry "
          + i + ") has state " + state + (g.differencing() ? ", expected 0 or 6"
          : " in an image that is not differencing, expected 0 (not present)"),
          new Fix(i, Action.NO_BITMAP, 0, 0));
      return 0;
    }
    return checkSpace(f, i, name, "sector bitmap", host, Layout.BITMAP_BLOCK,
        Layout.BITMAP_BLOCK, used, eof);
  }

  /**
   * Checks where a block lies: clear of the header section, the log, the regions and other
   * blocks, and inside the file (at least its first {@code need} bytes).
   */
  private long checkSpace(Findings f, long i, String name, String what, long host, long length,
      long need, SpaceMap used, long eof) throws IOException {
    long end = host + length;
    if (host >= eof) {
      f.corruption("blocks past the end of the file", name + ": " + what + " at file offset "
          + host + " lies past the end of the file (" + eof + " bytes); it cannot be read",
          new Fix(i, !what.equals("data") ? Action.NO_BITMAP
              : img.fixed ? Action.REALLOCATE : Action.ZERO, 0, 0));
      return 0;
    }
    if (img.overlapsStructures(host, length)) {
      f.corruption("blocks over metadata", name + ": " + what + " at file offset " + host + ".."
          + end + " overlaps the header section, the log or a region",
          new Fix(i, Action.MOVE, host, length));
    } else if (used.anyUsed(host, length)) {
      f.corruption("blocks sharing space", name + ": " + what + " at file offset " + host
          + ".." + end + " overlaps space another block uses", new Fix(i, Action.MOVE, host,
          length));
    }
    used.use(host, length);
    if (host + need > eof) {
      f.corruption("blocks cut short", name + ": " + what + " at file offset " + host + ".."
          + (host + need) + " is cut short by the end of the file (" + eof + " bytes)",
          new Fix(i, Action.PAD, host + need, 0));
    }
    return Math.min(end, Math.max(eof, host + need));
  }

  // ---------------------------------------------------------------- repair

  /**
   * Repairs the entries (caller holds the writer's lock): padding first, then copies of shared
   * blocks (flushed before any entry points at them), then every entry through the log.
   */
  private void repair(Findings f, List<String> repaired) throws IOException {
    MetadataWriter w = img.writer;
    w.begin(false);
    long pad = 0;
    for (Fix fix : f.fixes) {
      if (fix.action() == Action.PAD) {
        pad = Math.max(pad, fix.value());
      }
    }
    if (pad > img.file.length()) {
      long from = img.file.length();
      img.file.writeZeroes(from, pad - from);
      repaired.add("the file was cut short: grown with zeros from " + from + " to " + pad);
    }
    ByteBuffer buffer = null;
    boolean copied = false;
    for (Fix fix : f.fixes) {
      if (fix.index() < 0) {
        continue;
      }
      long e = bat.entry(fix.index());
      long value = e;
      switch (fix.action()) {
        case CLEAR_RESERVED -> value = e & ~BatState.RESERVED_MASK;
        case ZERO -> value = BatState.entry(BatState.ZERO, 0);
        case FULLY -> value = BatState.entry(BatState.FULLY_PRESENT, BatState.offset(e));
        case NO_BITMAP -> value = BatState.entry(BatState.SB_NOT_PRESENT, 0);
        case MOVE -> {
          long to = w.space().allocate(fix.length());
          if (buffer == null) {
            buffer = ByteBuffer.allocate((int) Layout.MIB);
          }
          copy(fix.value(), to, fix.length(), buffer);
          copied = true;
          value = BatState.entry(BatState.state(e), to) | (e & BatState.RESERVED_MASK);
          repaired.add("BAT entry " + fix.index() + ": its " + fix.length() + " bytes at "
              + fix.value() + " copied to " + to);
        }
        case REALLOCATE -> {
          long to = w.space().allocate(g.blockSize());
          img.file.writeZeroes(to, g.blockSize());
          copied = true;
          value = BatState.entry(BatState.FULLY_PRESENT, to);
          repaired.add("BAT entry " + fix.index() + ": a zeroed block at " + to
              + " replaces the one past the end of the file");
        }
        default -> {
          continue;
        }
      }
      if (value != e) {
        w.set(bat.entryOffset(fix.index()), value);
      }
    }
    if (copied) {
      img.file.flush();
    }
    w.commit();
    repaired.add(f.fixes.size() + " BAT entr" + (f.fixes.size() == 1 ? "y" : "ies")
        + " rewritten through the log");
  }

  /** Copies {@code length} bytes (zeros past the end of the file) from {@code from} to {@code to}. */
  private void copy(long from, long to, long length, ByteBuffer buffer) throws IOException {
    long eof = img.file.length();
    for (long done = 0; done < length; done += buffer.capacity()) {
      int n = (int) Math.min(buffer.capacity(), length - done);
      buffer.clear().limit(n);
      if (from + done < eof) {
        img.file.read(from + done, buffer);
      } else {
        VhdxImage.fillZeros(buffer, n);
      }
      buffer.flip();
      img.file.write(to + done, buffer);
    }
  }

  /** Writes the current header into the other slot and both region table copies alike. */
  private void restoreRedundancy(List<String> repaired) throws IOException {
    MetadataWriter w = img.writer;
    w.begin(false);
    if (img.headers.otherSlotProblem() != null) {
      VhdxHeader h = img.headers.current();
      img.headers.update(img.file.child(), h.next(h.fileWriteGuid(), h.dataWriteGuid(),
          h.logGuid()));
      repaired.add("both header slots hold the current header");
    }
    if (img.regionProblem != null) {
      ByteBuffer table = img.regions.encode();
      List<Update> updates = new ArrayList<>();
      for (long base : new long[] {Layout.REGION1_OFFSET, Layout.REGION2_OFFSET}) {
        for (int p = 0; p < Layout.REGION_TABLE_BYTES; p += Layout.PAGE) {
          ByteBuffer page = ByteBuffer.allocate(Layout.PAGE);
          page.put(0, table, p, Layout.PAGE);
          updates.add(Update.page(base + p, page));
        }
      }
      w.commitUpdates(updates);
      img.regionProblem = null;
      repaired.add("both region table copies rewritten through the log");
    }
  }

  /** Cuts the file after the last structure, recording the new length in the log first. */
  private void cut(long newLength, List<String> repaired) throws IOException {
    long eof = img.file.length();
    if (eof <= newLength) {
      return;
    }
    img.writer.begin(false);
    img.writer.space().free(newLength, eof - newLength);
    img.writer.beforeShrink(newLength);
    if (img.file.truncate(newLength)) {
      repaired.add("the file was cut from " + eof + " to " + newLength + " bytes");
    }
  }
}
