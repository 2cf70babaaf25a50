package io.blockkit.qcow2;

import io.blockkit.api.BackingLink;
import io.blockkit.api.Capability;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import io.blockkit.qcow2.Segment.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Changes to an open image as a whole, made while it is held exclusively: the virtual size
 * (growing the L1 table into new clusters, written and flushed before the header names it;
 * shrinking only over a tail that holds no data), preallocation, {@code amend} of compat and
 * lazy_refcounts (a downgrade to version 2 first turns zero clusters into what v2 can say), and
 * the backing file name.
 */
final class Changes {
  static final List<OptionSpec> AMEND_OPTIONS = List.of(
      OptionSpec.choice("compat", null, "Compatibility level: 0.10 (version 2) or 1.1 (version 3)",
          "0.10", "1.1", "v2", "v3"),
      OptionSpec.bool("lazy_refcounts", false, "Postpone refcount updates (version 3)"));

  private final Qcow2Image img;
  private final Layout layout;
  private final Qcow2Header h;
  private final long cs;

  Changes(Qcow2Image img) {
    this.img = img;
    this.layout = img.layout;
    this.h = img.header;
    this.cs = layout.clusterSize;
  }

  // ---------------------------------------------------------------- size

  /** Create's last step: the size, and the preallocation asked for. */
  void grow(long size, String preallocation, boolean raw) throws IOException {
    img.session.prepare();
    resize(size, false);
    if (raw) {
      mapDataFile(0, size);
    } else if (!preallocation.equals("off")) {
      preallocate(0, size, preallocation);
    }
  }

  /** A user's resize: the new part reads as zeros, not as the backing. */
  void resize(long newSize) throws IOException {
    resize(newSize, true);
  }

  private void resize(long newSize, boolean hideBacking) throws IOException {
    if (!img.snapshots.snapshots().isEmpty()) {
      throw new UnsupportedFeatureException("Cannot resize '" + img.location + "': it has "
          + img.snapshots.snapshots().size() + " internal snapshots");
    }
    if (!img.bitmaps.bitmaps().isEmpty()) {
      throw new UnsupportedFeatureException("Cannot resize '" + img.location + "': it has "
          + "persistent bitmaps");
    }
    long old = h.size;
    if (newSize < old) {
      // Clusters past the new end are dropped, so that growing again reads zeros there.
      long keep = Layout.ceilDiv(newSize, cs) * cs;
      if (keep < old) {
        img.zeroes.zero(keep, old - keep, true);
        requireFreeTail(keep, old);
      }
    }
    long needed = layout.l1EntriesFor(newSize);
    long[] l1 = img.map.l1();
    if (needed > l1.length) {
      long clusters = Layout.ceilDiv(needed * 8, cs);
      long at = img.allocator.allocateContiguous(clusters) << layout.clusterBits;
      long[] grown = java.util.Arrays.copyOf(l1, (int) needed);
      ByteBuffer b = ByteBuffer.allocate((int) (clusters * cs));
      b.asLongBuffer().put(grown);
      img.file.write(at, b);
      img.barrier.order();
      long oldOffset = h.l1Offset;
      int oldEntries = h.l1Size;
      img.changeHeader(x -> {
        x.l1Offset = at;
        x.l1Size = (int) needed;
        x.size = newSize;
      });
      img.map.replaceL1(grown, at);
      if (oldEntries > 0) {
        img.allocator.free(oldOffset >>> layout.clusterBits,
            Layout.ceilDiv(oldEntries * 8L, cs));
      }
    } else {
      img.changeHeader(x -> x.size = newSize);
    }
    img.virtualSize = newSize;
    if (img.dataFileRaw() && newSize > old) {
      mapDataFile(old, newSize);
    }
    boolean hide = hideBacking && img.namesBacking();
    if (newSize > old && (old % cs != 0 || hide) && !img.dataFileRaw()) {
      // The new part reads as zeros: the old last cluster's tail, and with a backing file the
      // whole new part (the backing may be longer than the image was).
      long to = hide ? newSize : Math.min(newSize, Layout.ceilDiv(old, cs) * cs);
      img.zeroes.zero(old, to - old, false);
    }
  }

  private void requireFreeTail(long from, long to) throws IOException {
    long pos = from;
    while (pos < to) {
      long end = Math.min(to, img.chunkEnd(pos));
      for (Segment s : img.map.segments(pos, end - pos)) {
        if (s.kind() != Kind.UNALLOCATED && s.kind() != Kind.ZERO) {
          throw new UnsupportedFeatureException("Cannot shrink '" + img.location + "' to " + from
              + " bytes: virtual offset " + s.offset() + " holds data (discard it first)");
        }
      }
      pos = end;
    }
  }

  /** Maps clusters of {@code [from, to)} to the same offsets of a raw data file. */
  private void mapDataFile(long from, long to) throws IOException {
    if (img.data.capabilities().contains(Capability.RESIZE) && img.data.size() < to) {
      img.data.truncate(to);
    }
    forEachTable(from, to, (l2, idx0, first, n) -> {
      long[] e = new long[n];
      long[] bm = new long[n];
      for (int i = 0; i < n; i++) {
        e[i] = ((first + i) << layout.clusterBits) | Layout.COPIED;
        bm[i] = 0xffff_ffffL;
      }
      img.map.setEntries(l2, idx0, e, bm, n);
    });
  }

  /** Allocates and maps every unallocated cluster of {@code [from, to)}. */
  void preallocate(long from, long to, String mode) throws IOException {
    long[] fileEnd = {0};
    forEachTable(from, to, (l2, idx0, first, n) -> {
      byte[] t = img.map.table(l2);
      int todo = 0;
      for (int i = 0; i < n; i++) {
        if (img.map.entry(t, idx0 + i) == 0) {
          todo++;
        }
      }
      if (todo == 0) {
        return;
      }
      List<Allocator.Run> runs = img.allocator.allocate(todo);
      long[] e = new long[n];
      long[] bm = new long[n];
      int r = 0;
      long next = runs.get(0).cluster();
      long left = runs.get(0).count();
      for (int i = 0; i < n; i++) {
        e[i] = img.map.entry(t, idx0 + i);
        bm[i] = img.map.bitmap(t, idx0 + i);
        if (e[i] != 0) {
          continue;
        }
        if (left == 0) {
          r++;
          next = runs.get(r).cluster();
          left = runs.get(r).count();
        }
        long host = next << layout.clusterBits;
        next++;
        left--;
        if (mode.equals("full")) {
          img.file.write(host, ByteBuffer.allocate((int) cs));
        }
        fileEnd[0] = Math.max(fileEnd[0], host + cs);
        e[i] = host | Layout.COPIED;
        bm[i] = img.namesBacking() ? 0 : 0xffff_ffffL;
      }
      img.map.setEntries(l2, idx0, e, bm, n);
    });
    if (fileEnd[0] > img.file.size()) {
      if (img.file.capabilities().contains(Capability.RESIZE)) {
        img.file.truncate(fileEnd[0]);
      } else {
        img.file.writeZeroes(fileEnd[0] - 1, 1);
      }
    }
  }

  private interface TableAction {
    void apply(long l2, int idx0, long firstCluster, int n) throws IOException;
  }

  /** Runs {@code action} for each L2 table's part of {@code [from, to)}, the table writable. */
  private void forEachTable(long from, long to, TableAction action) throws IOException {
    long pos = from;
    while (pos < to) {
      long end = Math.min(to, img.chunkEnd(pos));
      long first = pos >>> layout.clusterBits;
      int n = (int) (((end - 1) >>> layout.clusterBits) - first + 1);
      long l1Index = layout.l1Index(pos);
      ReentrantLock lock = img.map.lock(l1Index);
      lock.lock();
      try {
        long l2 = img.map.writableTable(l1Index, img.allocator);
        action.apply(l2, layout.l2Index(pos), first, n);
      } finally {
        lock.unlock();
      }
      pos = end;
    }
  }

  // ---------------------------------------------------------------- amend

  void amend(Options o) throws IOException {
    img.session.prepare();
    if (o.isSet("compat")) {
      String c = o.string("compat");
      int target = c.equals("0.10") || c.equals("v2") ? 2 : 3;
      if (target == 3 && h.version == 2) {
        synchronized (h) {
          h.version = 3;
          h.refcountOrder = 4;
          img.writeHeader();
        }
      } else if (target == 2 && h.version == 3) {
        if (o.isSet("lazy_refcounts") && o.bool("lazy_refcounts")) {
          throw new InvalidOptionException("lazy_refcounts=on needs compat=1.1");
        }
        downgrade();
      }
    }
    if (o.isSet("lazy_refcounts")) {
      boolean on = o.bool("lazy_refcounts");
      if (on && h.version < 3) {
        throw new InvalidOptionException("lazy_refcounts=on needs compat=1.1 (qcow2 version 3)");
      }
      if (!on && img.lazyDirty) {
        img.session.flushMetadata();
        img.refcounts.writeDirty();
        img.file.flush();
        img.allocator.setLazy(false);
        synchronized (h) {
          h.incompatible &= ~Features.DIRTY;
        }
        img.lazyDirty = false;
      }
      synchronized (h) {
        h.compatible = on ? h.compatible | Features.LAZY_REFCOUNTS
            : h.compatible & ~Features.LAZY_REFCOUNTS;
        img.writeHeader();
      }
    }
  }

  /** To version 2: refused for what v2 cannot hold; zero clusters become unallocated or zeros. */
  private void downgrade() throws IOException {
    String blocker = layout.extendedL2 ? "extended L2 entries" : img.externalData
        ? "an external data file" : h.compressionType != 0 ? "zstd compression"
        : layout.refcountBits != 16 ? layout.refcountBits + "-bit refcounts"
        : h.bitmapsExtension != null ? "persistent bitmaps" : null;
    if (blocker != null) {
      throw new UnsupportedFeatureException("Cannot amend '" + img.location + "' to compat=0.10:"
          + " version 2 has no " + blocker);
    }
    for (SnapshotTable.Snapshot s : img.snapshots.snapshots()) {
      for (long e : ClusterMap.readL1(img.file, s.l1Offset(), s.l1Size())) {
        long l2 = e & Layout.OFFSET_MASK;
        if (l2 != 0 && (e & Layout.COPIED) == 0 && hasZeroEntries(l2)) {
          throw new UnsupportedFeatureException("Cannot amend '" + img.location + "' to "
              + "compat=0.10: snapshot '" + s.info().name() + "' has zero clusters");
        }
      }
    }
    if (img.lazyDirty) {
      img.session.flushMetadata();
      img.refcounts.writeDirty();
      img.file.flush();
      img.allocator.setLazy(false);
      img.lazyDirty = false;
    }
    expandZeroClusters();
    img.session.flushMetadata();
    synchronized (h) {
      h.version = 2;
      h.incompatible = 0;
      h.compatible = 0;
      h.autoclear = 0;
      h.unknownFields = new byte[0];
      img.writeHeader();
    }
  }

  private boolean hasZeroEntries(long l2) throws IOException {
    byte[] t = img.map.table(l2);
    for (int i = 0; i < layout.l2Entries; i++) {
      long e = img.map.entry(t, i);
      if ((e & Layout.COMPRESSED) == 0 && (e & Layout.ZERO) != 0) {
        return true;
      }
    }
    return false;
  }

  /** Zero clusters of the active layer: unallocated without a backing file, else written zeros. */
  private void expandZeroClusters() throws IOException {
    long[] l1 = img.map.l1();
    for (int i = 0; i < l1.length; i++) {
      long l2 = l1[i] & Layout.OFFSET_MASK;
      if (l2 == 0 || !hasZeroEntries(l2)) {
        continue;
      }
      long l2w = img.map.writableTable(i, img.allocator);
      byte[] t = img.map.table(l2w);
      for (int j = 0; j < layout.l2Entries; j++) {
        long e = img.map.entry(t, j);
        if ((e & Layout.COMPRESSED) != 0 || (e & Layout.ZERO) == 0) {
          continue;
        }
        long host = e & Layout.OFFSET_MASK;
        long ne;
        if (!img.namesBacking()) {
          ne = 0;
          if (host != 0) {
            img.allocator.free(host >>> layout.clusterBits, 1);
          }
        } else {
          long target = host != 0 && (e & Layout.COPIED) != 0 ? host
              : img.allocator.allocateOne() << layout.clusterBits;
          img.file.write(target, ByteBuffer.allocate((int) cs));
          if (host != 0 && target != host) {
            img.allocator.free(host >>> layout.clusterBits, 1);
          }
          ne = target | Layout.COPIED;
        }
        img.map.setEntries(l2w, j, new long[] {ne}, new long[1], 1);
      }
    }
  }

  // ---------------------------------------------------------------- backing

  void changeBacking(BackingLink link) throws IOException {
    if (link != null && img.dataFileRaw()) {
      throw new UnsupportedFeatureException("'" + img.location + "' has a raw external data "
          + "file, which cannot have a backing file");
    }
    img.session.prepare();
    synchronized (h) {
      String oldName = h.backingFile;
      String oldFormat = h.backingFormat;
      h.backingFile = link != null ? link.filename() : null;
      h.backingFormat = link != null ? link.format() : null;
      try {
        img.writeHeader();
      } catch (IOException e) {
        h.backingFile = oldName;
        h.backingFormat = oldFormat;
        throw e;
      }
    }
  }
}
