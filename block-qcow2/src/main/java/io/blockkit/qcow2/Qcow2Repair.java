package io.blockkit.qcow2;

import io.blockkit.api.CheckMode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Repairs what {@link Qcow2Check} found. {@code -r leaks} lowers refcounts to the references.
 * {@code -r all} first makes every entry readable (an entry that cannot be followed becomes a
 * zero cluster, or unallocated in v2: its data was unreadable already; reserved bits and a COPIED
 * flag on a compressed entry are cleared), then raises refcounts to the references, or rebuilds
 * the whole refcount structure past the end of the file when a count is 0 or a refcount block is
 * invalid or shared, moves an L1 table that overlaps other data, corrects the COPIED flags, and
 * clears the corrupt and dirty bits. Every byte that read before reads the same afterwards.
 */
final class Qcow2Repair {
  private final Qcow2Check check;
  private final Qcow2Image img;
  private final Layout layout;
  private final long cs;
  private final List<String> messages = new ArrayList<>();

  Qcow2Repair(Qcow2Check check) {
    this.check = check;
    this.img = check.img;
    this.layout = img.layout;
    this.cs = layout.clusterSize;
  }

  List<String> run(CheckMode mode, Qcow2Check.Findings found) throws IOException {
    Qcow2Check.Findings f = found;
    img.allocator.reset();
    if (mode.repairsCorruptions() && !f.entryFixes.isEmpty()) {
      writeFixes(f.entryFixes);
      note(f.entryFixes.size() + " table entries that could not be followed (or had reserved "
          + "bits set)");
      f = check.analyze();
    }
    boolean dirty = check.dirty();
    if ((mode.repairsCorruptions() || dirty) && f.rebuild) {
      messages.add("Rebuilding refcount structure");
      rebuild(f);
    } else {
      fixRefcounts(f, mode);
    }
    if (dirty && !mode.repairsCorruptions()) {
      img.changeHeader(x -> x.incompatible &= ~Features.DIRTY);
      note("the dirty flag (refcounts rebuilt, now clear)");
    }
    if (mode.repairsCorruptions()) {
      f = check.analyze();
      if (f.relocateL1) {
        relocateL1();
        f = check.analyze();
      }
      if (!f.copiedFixes.isEmpty()) {
        writeFixes(f.copiedFixes);
        note(f.copiedFixes.size() + " COPIED flags");
      }
      long clear = Features.CORRUPT | (img.lazyDirty ? 0 : Features.DIRTY);
      if ((img.header.incompatible & clear) != 0) {
        img.changeHeader(x -> x.incompatible &= ~clear);
        note("the corrupt and dirty flags (now clear)");
      }
    }
    img.file.flush();
    img.map.clearCache();
    img.allocator.reset();
    return messages;
  }

  private void note(String what) {
    messages.add("Repaired: " + what);
  }

  private void writeFixes(List<Qcow2Check.EntryFix> fixes) throws IOException {
    for (Qcow2Check.EntryFix x : fixes) {
      ByteBuffer b = ByteBuffer.allocate(x.l2Extended() ? 16 : 8);
      b.putLong(0, x.entry());
      if (x.l2Extended()) {
        b.putLong(8, x.bitmap());
      }
      img.file.write(x.at(), b);
      if (x.l1Index() >= 0) {
        img.map.l1()[(int) x.l1Index()] = x.entry();
      }
    }
    img.file.flush();
    img.map.clearCache();
  }

  /** Sets each mismatched refcount to its references (leaks only with {@code -r leaks}). */
  private void fixRefcounts(Qcow2Check.Findings f, CheckMode mode) throws IOException {
    Refcounts rc = img.refcounts;
    int listed = 0;
    long fixed = 0;
    for (long[] m : f.mismatches) {
      boolean leak = m[1] > m[2];
      if (!leak && !mode.repairsCorruptions()) {
        continue;
      }
      if (m[2] > layout.refcountMax) {
        continue; // refcount overflow: amend refcount_bits
      }
      rc.set(m[0], 1, m[2]);
      fixed++;
      if (listed++ < Qcow2Check.MESSAGES_PER_KIND) {
        messages.add("Repaired: cluster " + m[0] + " refcount=" + m[1] + " reference=" + m[2]);
      }
    }
    if (listed > Qcow2Check.MESSAGES_PER_KIND) {
      messages.add("... and " + (fixed - Qcow2Check.MESSAGES_PER_KIND) + " more refcounts");
    }
    rc.writeDirty();
    img.file.flush();
  }

  /**
   * Writes a new refcount table and blocks past everything in use, from the references alone
   * (the old structures become free), then points the header at them.
   */
  private void rebuild(Qcow2Check.Findings f) throws IOException {
    ClusterCounts refs = f.refs;
    for (long c : f.refcountStructures) {
      refs.remove(c);
    }
    long used = Math.max(f.fileClusters, refs.highest() + 1);
    long entries = layout.refblockEntries;
    long start = used;
    java.util.TreeSet<Long> withRefs = new java.util.TreeSet<>();
    for (long bi = 0; bi * entries < used; bi++) {
      if (hasRefs(refs, bi * entries, Math.min(used, (bi + 1) * entries))) {
        withRefs.add(bi);
      }
    }
    // The table and blocks go at start; they must count themselves, so the blocks covering
    // them join the set until it stops growing, and the table must have an entry for each.
    long tableClusters = 1;
    java.util.TreeSet<Long> need;
    while (true) {
      need = new java.util.TreeSet<>(withRefs);
      int size;
      do {
        size = need.size();
        long structEnd = start + tableClusters + need.size();
        for (long bi = start / entries; bi <= (structEnd - 1) / entries; bi++) {
          need.add(bi);
        }
      } while (need.size() != size);
      if (need.last() < tableClusters * cs / 8) {
        break;
      }
      tableClusters = Layout.ceilDiv((need.last() + 1) * 8, cs);
      if (tableClusters * cs > Qcow2Header.MAX_REFTABLE_BYTES) {
        throw new io.blockkit.api.error.UnsupportedFeatureException("Cannot rebuild the refcount"
            + " structure of '" + img.location + "': it would exceed 8 MiB");
      }
    }
    List<Long> blocks = new ArrayList<>(need);
    long blockStart = start + tableClusters;
    long[] table = new long[(int) (tableClusters * cs / 8)];
    for (int k = 0; k < blocks.size(); k++) {
      table[(int) (long) blocks.get(k)] = (blockStart + k) << layout.clusterBits;
    }
    for (long c = start; c < blockStart + blocks.size(); c++) {
      refs.add(c);
    }
    Refcounts codec = img.refcounts;
    for (int k = 0; k < blocks.size(); k++) {
      long bi = blocks.get(k);
      byte[] b = new byte[(int) cs];
      for (long c = bi * entries; c < (bi + 1) * entries; c++) {
        int r = refs.get(c);
        if (r > 0) {
          codec.write(b, c - bi * entries, Math.min(r, layout.refcountMax));
        }
      }
      img.file.write((blockStart + k) << layout.clusterBits, ByteBuffer.wrap(b));
    }
    ByteBuffer t = ByteBuffer.allocate((int) (tableClusters * cs));
    t.asLongBuffer().put(table);
    img.file.write(start << layout.clusterBits, t);
    img.file.flush();
    synchronized (img.header) {
      img.header.refcountTableOffset = start << layout.clusterBits;
      img.header.refcountTableClusters = (int) tableClusters;
      img.writeHeader();
    }
    codec.replace(table, start << layout.clusterBits, (int) tableClusters);
    codec.noteUsed(blockStart + blocks.size());
  }

  private static boolean hasRefs(ClusterCounts refs, long from, long to) {
    for (long c = from; c < to; c++) {
      if (refs.get(c) > 0) {
        return true;
      }
    }
    return false;
  }

  /** Moves the active L1 table to clusters of its own, when it shares clusters with other data. */
  private void relocateL1() throws IOException {
    long[] l1 = img.map.l1();
    long clusters = Math.max(1, Layout.ceilDiv(l1.length * 8L, cs));
    long first = img.refcounts.takeEnd(clusters);
    img.refcounts.set(first, clusters, 1);
    long at = first << layout.clusterBits;
    ByteBuffer b = ByteBuffer.allocate((int) (clusters * cs));
    b.asLongBuffer().put(l1);
    img.file.write(at, b);
    img.file.flush();
    long old = img.map.l1Offset();
    synchronized (img.header) {
      img.header.l1Offset = at;
      img.writeHeader();
    }
    img.map.replaceL1(l1, at);
    for (long c = old >>> layout.clusterBits; c <= (old + l1.length * 8L - 1)
        >>> layout.clusterBits; c++) {
      img.refcounts.add(c, -1);
    }
    note("moved the L1 table, which overlapped other data, to " + at);
  }
}
