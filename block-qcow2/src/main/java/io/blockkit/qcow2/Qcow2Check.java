package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks an open image the way {@code qemu-img check} does, and has {@link Qcow2Repair} repair
 * it: every reference to a host cluster is counted in memory (header, L1 and L2 tables of the
 * active state and of every snapshot, data and compressed clusters, the snapshot table, the
 * refcount structures, bitmap structures), then compared with the refcounts on disk. A refcount
 * above its references is a leak; below, a corruption (at 0, the refcount structure must be
 * rebuilt). Entries that cannot be followed (reserved bits, unaligned or outside the file, bad
 * subcluster bitmaps, compressed clusters with COPIED) and wrong COPIED flags are corruptions.
 * The caller holds the image exclusively.
 */
final class Qcow2Check {
  /** Findings of one kind listed one per line; one line counts the rest. */
  static final int MESSAGES_PER_KIND = 20;

  final Qcow2Image img;
  final Layout layout;
  final BlockDevice file;
  final long cs;

  Qcow2Check(Qcow2Image img) {
    this.img = img;
    this.layout = img.layout;
    this.file = img.file;
    this.cs = layout.clusterSize;
  }

  /** A change a repair of corruptions makes to a table entry. */
  record EntryFix(long at, long entry, long bitmap, boolean l2Extended, long l1Index) {}

  /** What one pass found. */
  final class Findings {
    final List<String> messages = new ArrayList<>();
    final ClusterCounts refs = new ClusterCounts();
    final Map<String, Long> perKind = new HashMap<>();
    final List<EntryFix> entryFixes = new ArrayList<>();
    /** {cluster, refcount, references} of every mismatch. */
    final List<long[]> mismatches = new ArrayList<>();
    final List<EntryFix> copiedFixes = new ArrayList<>();
    /** Clusters of the refcount table and blocks (a rebuild frees them). */
    final List<Long> refcountStructures = new ArrayList<>();
    boolean rebuild;
    boolean relocateL1;
    long leaks;
    long corruptions;
    long fileClusters;
    long allocated;
    long fragmented;
    long compressed;
    long nextContiguous = -1;
    long highest = -1;

    void corruption(String kind, String message) {
      corruptions++;
      list(kind, "ERROR: " + message);
    }

    void leak(String message) {
      leaks++;
      list("leak", "Leaked: " + message);
    }

    private void list(String kind, String line) {
      if (perKind.merge(kind, 1L, Long::sum) <= MESSAGES_PER_KIND) {
        messages.add(line);
      }
    }

    List<String> lines() {
      List<String> out = new ArrayList<>(messages);
      perKind.forEach((kind, n) -> {
        if (n > MESSAGES_PER_KIND) {
          out.add("... and " + (n - MESSAGES_PER_KIND) + " more " + (kind.equals("leak")
              ? "leaked clusters" : "errors of this kind (" + kind + ")"));
        }
      });
      return out;
    }
  }

  CheckReport run(CheckMode mode) throws IOException {
    Findings before = analyze();
    CheckReport b = build(before);
    boolean flagsToClear = img.header.has(Features.DIRTY) && !img.lazyDirty
        || img.header.has(Features.CORRUPT);
    if (mode == CheckMode.REPORT || (b.corruptions() + b.leaks() == 0 && !flagsToClear)) {
      return b;
    }
    List<String> messages = new ArrayList<>(b.messages());
    messages.addAll(new Qcow2Repair(this).run(mode, before));
    Findings after = analyze();
    CheckReport a = build(after);
    messages.addAll(a.messages());
    return new CheckReport(a.corruptions(), a.leaks(), a.checkErrors(),
        Math.max(0, b.corruptions() - a.corruptions()), Math.max(0, b.leaks() - a.leaks()),
        a.imageEndOffset(), a.totalClusters(), a.allocatedClusters(), a.fragmentedClusters(),
        a.compressedClusters(), messages);
  }

  private CheckReport build(Findings f) {
    return new CheckReport(f.corruptions, f.leaks, 0, 0, 0, (f.highest + 1) * cs,
        Layout.ceilDiv(img.size(), cs), f.allocated, f.fragmented, f.compressed, f.lines());
  }

  /** Counts every reference and compares the counts with the refcounts on disk. */
  Findings analyze() throws IOException {
    Findings f = new Findings();
    long fileLength = img.fileLengthAtOpen;
    if (img.refcounts != null) {
      fileLength = Math.max(fileLength, file.size());
    }
    f.fileClusters = Layout.ceilDiv(fileLength, cs);
    Refcounts onDisk = refcountReader();
    f.refs.add(0);
    countRange(f, onDisk.tableOffset(), onDisk.tableClusters() * cs);
    for (long c = 0; c < onDisk.tableClusters(); c++) {
      f.refcountStructures.add((onDisk.tableOffset() >>> layout.clusterBits) + c);
    }
    long[] table = onDisk.table();
    for (int i = 0; i < table.length; i++) {
      long e = table[i];
      long off = e & Layout.OFFSET_MASK;
      if (e == 0) {
        continue;
      }
      if ((e & Layout.REFTABLE_RESERVED) != 0 || off < cs || off + cs > fileLength) {
        f.corruption("refcount block", "refcount table entry " + i + " is invalid: 0x"
            + Long.toHexString(e) + " (reserved bits, unaligned, or outside the file)");
        f.rebuild = true;
        continue;
      }
      f.refs.add(off >>> layout.clusterBits);
      f.refcountStructures.add(off >>> layout.clusterBits);
    }
    long[] l1 = img.map.l1();
    countRange(f, img.map.l1Offset(), img.header.l1Size * 8L);
    walk(f, l1, img.map.l1Offset(), true, fileLength);
    SnapshotTable snaps = img.snapshots;
    countRange(f, img.header.snapshotsOffset, snaps.bytes());
    for (SnapshotTable.Snapshot s : snaps.snapshots()) {
      countRange(f, s.l1Offset(), s.l1Size() * 8L);
      walk(f, ClusterMap.readL1(file, s.l1Offset(), s.l1Size()), s.l1Offset(), false,
          fileLength);
    }
    if (img.externalData && !snaps.snapshots().isEmpty()) {
      f.corruption("snapshots", snaps.snapshots().size() + " snapshots in an image with an "
          + "external data file");
    }
    countBitmaps(f, fileLength);
    compare(f, onDisk);
    for (long c : f.refcountStructures) {
      if (f.refs.get(c) > 1) {
        f.rebuild = true; // refcount structures shared with anything else must move
      }
    }
    for (long c = 0; c < img.header.l1Size * 8L; c += cs) {
      if (f.refs.get((img.map.l1Offset() + c) >>> layout.clusterBits) > 1) {
        f.relocateL1 = true;
      }
    }
    copiedFlags(f, onDisk, l1);
    return f;
  }

  /** The live refcounts of a writable image, or a reader of the ones on disk. */
  Refcounts refcountReader() throws IOException {
    if (img.refcounts != null) {
      return img.refcounts;
    }
    TableCache cache = new TableCache(file, cs, Qcow2Driver.DEFAULT_REFCOUNT_CACHE);
    return new Refcounts(img.location, file, layout, cache, (o, c) -> { },
        Refcounts.readTable(file, img.header), img.header.refcountTableOffset,
        img.header.refcountTableClusters, Layout.ceilDiv(img.fileLengthAtOpen, cs), () -> { });
  }

  private void countRange(Findings f, long offset, long bytes) {
    if (bytes <= 0) {
      return;
    }
    for (long c = offset >>> layout.clusterBits; c <= (offset + bytes - 1) >>> layout.clusterBits;
        c++) {
      f.refs.add(c);
    }
  }

  /** Counts an L1 table's L2 tables and data, and finds the entries a repair must change. */
  private void walk(Findings f, long[] l1, long l1Offset, boolean active, long fileLength)
      throws IOException {
    String which = active ? "" : "snapshot ";
    byte[] t = new byte[(int) cs];
    for (int i = 0; i < l1.length; i++) {
      long e = l1[i];
      if (e == 0) {
        continue;
      }
      long off = e & Layout.OFFSET_MASK;
      boolean reserved = (e & Layout.L1_RESERVED) != 0;
      if (off == 0 || off < cs || off + cs > fileLength) {
        f.corruption("L1", which + "L1 entry " + i + " (0x" + Long.toHexString(e)
            + ") points to no L2 table inside the file");
        f.entryFixes.add(new EntryFix(l1Offset + 8L * i, 0, 0, false, active ? i : -1));
        continue;
      }
      if (reserved) {
        f.corruption("L1", which + "L1 entry " + i + " has reserved bits set: 0x"
            + Long.toHexString(e));
        f.entryFixes.add(new EntryFix(l1Offset + 8L * i, e & ~Layout.L1_RESERVED, 0, false,
            active ? i : -1));
      }
      f.refs.add(off >>> layout.clusterBits);
      f.nextContiguous = -1; // as qemu-img: contiguity is judged within one L2 table
      file.read(off, ByteBuffer.wrap(t));
      ByteBuffer b = ByteBuffer.wrap(t);
      for (int j = 0; j < layout.l2Entries; j++) {
        long en = b.getLong(j * layout.l2EntryBytes);
        long bm = layout.extendedL2 ? b.getLong(j * 16 + 8) : 0;
        if (en != 0 || bm != 0) {
          l2Entry(f, en, bm, off + (long) j * layout.l2EntryBytes, active, fileLength,
              (long) i * layout.l2Entries + j);
        }
      }
    }
  }

  private void l2Entry(Findings f, long e, long bm, long at, boolean active, long fileLength,
      long guestCluster) throws IOException {
    String where = (active ? "" : "snapshot ") + "L2 entry for virtual cluster " + guestCluster
        + " (0x" + Long.toHexString(e) + ")";
    boolean ext = layout.extendedL2;
    if ((e & Layout.COMPRESSED) != 0) {
      long off = layout.compressedOffset(e);
      String bad = img.map.compressedProblem(e, bm);
      if (bad != null) {
        f.corruption("compressed", where + ": " + bad);
        f.entryFixes.add(new EntryFix(at, zeroEntry(), zeroBitmap(), ext, -1));
        return;
      }
      try {
        img.reader.decompress(e, guestCluster << layout.clusterBits);
      } catch (io.blockkit.api.error.DataUnavailableException ex) {
        // qemu-img does not look inside compressed data; a read would fail, so check says so.
        f.corruption("compressed", where + ": compressed data does not decompress to a "
            + "cluster");
        f.entryFixes.add(new EntryFix(at, zeroEntry(), zeroBitmap(), ext, -1));
        return;
      }
      if ((e & Layout.COPIED) != 0) {
        f.corruption("compressed", where + ": the COPIED flag must never be set for compressed "
            + "clusters");
        f.entryFixes.add(new EntryFix(at, e & ~Layout.COPIED, bm, ext, -1));
      }
      long len = layout.compressedLength(e);
      long first = (off & ~511L) >>> layout.clusterBits;
      long last = Math.min(off + len - 1, fileLength - 1) >>> layout.clusterBits;
      for (long c = first; c <= last; c++) {
        f.refs.add(c);
      }
      if (active) {
        f.allocated++;
        f.compressed++;
        f.fragmented++; // always, as qemu counts them: they share sectors with neighbours
      }
      return;
    }
    if ((e & Layout.L2_RESERVED) != 0) {
      f.corruption("L2", where + " has reserved bits set");
      f.entryFixes.add(new EntryFix(at, e & ~Layout.L2_RESERVED, bm, ext, -1));
      e &= ~Layout.L2_RESERVED;
    }
    long host = e & Layout.OFFSET_MASK;
    boolean hasHost = host != 0 || (img.externalData && (e & Layout.COPIED) != 0);
    boolean zero = !ext && (e & Layout.ZERO) != 0;
    if (ext) {
      long alloc = bm & 0xffff_ffffL;
      long zeros = bm >>> 32;
      if ((alloc & zeros) != 0 || (alloc != 0 && !hasHost)) {
        f.corruption("subclusters", where + " has a corrupted subcluster allocation bitmap 0x"
            + Long.toHexString(bm));
        long fixed = (zeros | alloc) << 32; // the subclusters in doubt read as zeros
        f.entryFixes.add(new EntryFix(at, hasHost ? e : 0, hasHost ? (alloc & ~zeros) | (zeros
            << 32) : fixed, true, -1));
        if (!hasHost) {
          return;
        }
      }
    }
    if (!hasHost || img.externalData) {
      if (active && hasHost && (!ext || (bm & 0xffff_ffffL) != 0)) {
        f.allocated++;
      }
      return;
    }
    String bad = img.map.hostProblem(e, host);
    if (bad != null) {
      boolean prealloc = zero && !layout.aligned(host);
      f.corruption("L2", where + ": " + (prealloc ? "preallocated zero cluster is not properly "
          + "aligned" : bad));
      f.entryFixes.add(new EntryFix(at, zeroEntry(), zeroBitmap(), ext, -1));
      return;
    }
    f.refs.add(host >>> layout.clusterBits);
    if (active) {
      f.allocated++;
      if (f.nextContiguous >= 0 && host != f.nextContiguous) {
        f.fragmented++;
      }
      f.nextContiguous = host + cs;
    }
  }

  /** What a repaired entry that lost its data becomes: zeros (v3), else unallocated. */
  private long zeroEntry() {
    return img.zeroFlag() && !layout.extendedL2 ? Layout.ZERO : 0;
  }

  private long zeroBitmap() {
    return layout.extendedL2 ? 0xffff_ffffL << 32 : 0;
  }

  private void countBitmaps(Findings f, long fileLength) throws IOException {
    Bitmaps bm = img.bitmaps;
    if (bm.bitmaps().isEmpty()) {
      return;
    }
    countRange(f, bm.directoryOffset(), bm.directorySize());
    for (Bitmaps.Bitmap b : bm.bitmaps()) {
      countRange(f, b.tableOffset(), b.tableSize() * 8L);
    }
    for (long off : bm.dataClusters(file, cs)) {
      if (off >= cs && off + cs <= fileLength && layout.aligned(off)) {
        f.refs.add(off >>> layout.clusterBits);
      } else {
        f.corruption("bitmap", "bitmap data cluster at " + off + " is unaligned or outside the "
            + "file");
      }
    }
  }

  /** Refcounts on disk against references, for every cluster of the file and every reference. */
  private void compare(Findings f, Refcounts onDisk) throws IOException {
    long n = Math.max(f.fileClusters, f.refs.highest() + 1);
    for (long c = 0; c < n; c++) {
      long refcount = onDisk.get(c);
      long refs = f.refs.get(c);
      if (refcount > 0 || refs > 0) {
        f.highest = c;
      }
      if (refcount == refs) {
        continue;
      }
      f.mismatches.add(new long[] {c, refcount, refs});
      if (dirty()) {
        // A dirty image's refcounts are stale by design (lazy refcounts): a rebuild fixes them
        // without touching any data, so they count as leaks, not as corruption.
        f.leak("cluster " + c + " refcount=" + refcount + " reference=" + refs
            + " (stale: the image is dirty)");
        f.rebuild |= refcount < refs;
      } else if (refcount > refs) {
        f.leak("cluster " + c + " refcount=" + refcount + " reference=" + refs);
      } else {
        f.corruption("refcount", "cluster " + c + " refcount=" + refcount + " reference="
            + refs);
        if (refcount == 0 || refs > layout.refcountMax) {
          f.rebuild = true;
        }
      }
    }
  }

  /** Whether the image on disk says its refcounts may be stale (the dirty bit of another session). */
  boolean dirty() {
    return img.header.has(Features.DIRTY) && !img.lazyDirty;
  }

  /**
   * Active L1 and L2 entries must carry COPIED exactly when the refcount is 1 (not judged while
   * the refcounts are stale).
   */
  private void copiedFlags(Findings f, Refcounts onDisk, long[] l1) throws IOException {
    if (dirty()) {
      return;
    }
    byte[] t = new byte[(int) cs];
    for (int i = 0; i < l1.length; i++) {
      long e = l1[i];
      long off = e & Layout.OFFSET_MASK;
      if (off == 0 || off < cs || off + cs > f.fileClusters * cs
          || (e & Layout.L1_RESERVED) != 0) {
        continue;
      }
      long rc = expectedRefcount(f, onDisk, off);
      boolean copied = (e & Layout.COPIED) != 0;
      if (copied != (rc == 1)) {
        f.corruption("copied", "OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry=0x"
            + Long.toHexString(e) + " refcount=" + rc);
        f.copiedFixes.add(new EntryFix(img.map.l1Offset() + 8L * i, rc == 1
            ? e | Layout.COPIED : e & ~Layout.COPIED, 0, false, i));
      }
      file.read(off, ByteBuffer.wrap(t));
      ByteBuffer b = ByteBuffer.wrap(t);
      for (int j = 0; j < layout.l2Entries; j++) {
        long en = b.getLong(j * layout.l2EntryBytes);
        long host = en & Layout.OFFSET_MASK;
        if ((en & Layout.COMPRESSED) != 0 || host == 0 || img.externalData
            || img.map.hostProblem(en, host) != null || (en & Layout.L2_RESERVED) != 0) {
          continue;
        }
        long drc = expectedRefcount(f, onDisk, host);
        boolean dc = (en & Layout.COPIED) != 0;
        if (dc != (drc == 1)) {
          f.corruption("copied", "OFLAG_COPIED data cluster: l2_entry=0x"
              + Long.toHexString(en) + " refcount=" + drc);
          long bm = layout.extendedL2 ? b.getLong(j * 16 + 8) : 0;
          f.copiedFixes.add(new EntryFix(off + (long) j * layout.l2EntryBytes, drc == 1
              ? en | Layout.COPIED : en & ~Layout.COPIED, bm, layout.extendedL2, -1));
        }
      }
    }
  }

  /** The refcount qemu judges COPIED by: the one on disk. */
  private long expectedRefcount(Findings f, Refcounts onDisk, long offset) throws IOException {
    return onDisk.get(offset >>> layout.clusterBits);
  }
}
