package io.blockkit.qcow2;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.SnapshotInfo;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.options.Options;
import io.blockkit.api.options.WellKnownOptions;
import io.blockkit.qcow2.Segment.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open qcow2 image: reads, block status, info, flush and close here (what each kind of
 * segment reads as in {@link SegmentReader}); writes in {@link Writer} and {@link Zeroes}, the
 * first write's header changes and flushing in {@link WriteSession}; check and repair in {@link
 * Qcow2Check}; size, option and backing changes in {@link Changes}. See the package
 * documentation for the locking scheme and the write order.
 */
final class Qcow2Image extends AbstractBlockDevice {
  final String location;
  final BlockDevice file;
  /** Where guest data lives: the external data file, or {@link #file}. */
  final BlockDevice data;
  final boolean externalData;
  final Qcow2Header header;
  final Layout layout;
  final Compression compression;
  final ClusterMap map;
  final Refcounts refcounts;
  final Allocator allocator;
  final ClusterLocks clusterLocks = new ClusterLocks();
  /**
   * Shared by every request; exclusive while the image's structure changes as a whole (check,
   * repair, resize, amend, backing change, the first write's header update, close).
   */
  final ReentrantReadWriteLock state = new ReentrantReadWriteLock();
  final WriteSession session;
  final Writer writer;
  final Zeroes zeroes;
  final SegmentReader reader;
  final boolean compressWrites;
  final long fileLengthAtOpen;
  final long dataLengthAtOpen;
  /** Flushes that order metadata (none with cache.no-flush=on). */
  final Barrier barrier;
  private final Set<Capability> capabilities;
  volatile SnapshotTable snapshots;
  volatile Bitmaps bitmaps;
  /** The size of the view: the header's, or a snapshot's disk size. */
  volatile long virtualSize;
  /** Set once the first write's header changes are made (dirty bit, autoclear, bitmaps). */
  volatile boolean prepared;
  /** This session set the dirty bit for lazy refcounts and clears it at close. */
  volatile boolean lazyDirty;
  private final String snapshotView;

  Qcow2Image(Qcow2Driver driver, String location, boolean readOnly, BlockDevice file,
      BlockDevice dataFile, BlockDevice backing, Qcow2Header header, long[] l1,
      SnapshotTable.Snapshot view, SnapshotTable snapshots, Bitmaps bitmaps, long fileLength,
      Options options) throws IOException {
    super(driver, location, readOnly, file, backing);
    this.location = location;
    this.file = file;
    this.externalData = dataFile != null;
    this.data = dataFile != null ? dataFile : file;
    this.header = header;
    this.layout = header.layout();
    this.compression = new Compression(header.compressionType, layout.clusterSize);
    this.fileLengthAtOpen = fileLength;
    this.dataLengthAtOpen = dataFile != null ? dataFile.size() : fileLength;
    this.snapshots = snapshots;
    this.bitmaps = bitmaps;
    this.snapshotView = view != null ? view.info().name() : null;
    this.virtualSize = view != null ? view.diskSize() : header.size;
    this.compressWrites = options.has(WellKnownOptions.COMPRESS)
        && options.bool(WellKnownOptions.COMPRESS);
    this.barrier = options.has(WellKnownOptions.NO_FLUSH)
        && options.bool(WellKnownOptions.NO_FLUSH) ? () -> { }
        : file::flush;
    long l2Budget = options.has("l2-cache-size") ? options.size("l2-cache-size")
        : Qcow2Driver.DEFAULT_L2_CACHE;
    long refBudget = options.has("refcount-cache-size") ? options.size("refcount-cache-size")
        : Qcow2Driver.DEFAULT_REFCOUNT_CACHE;
    if (readOnly) {
      this.refcounts = null;
      this.allocator = null;
    } else {
      TableCache refCache = new TableCache(file, layout.clusterSize, refBudget);
      long end = Layout.ceilDiv(fileLength, layout.clusterSize);
      this.refcounts = new Refcounts(location, file, layout, refCache, this::refcountTableMoved,
          Refcounts.readTable(file, header), header.refcountTableOffset,
          header.refcountTableClusters, end, barrier);
      this.allocator = new Allocator(location, file, layout, refcounts, this::metadataOwner,
          barrier);
    }
    this.map = new ClusterMap(location, file, layout,
        new TableCache(file, layout.clusterSize, l2Budget), externalData, this::fileLength,
        l1, view != null ? view.l1Offset() : header.l1Offset, view != null, barrier);
    this.reader = new SegmentReader(this, this::readBacking);
    this.session = new WriteSession(this);
    this.writer = new Writer(this);
    this.zeroes = new Zeroes(this);
    Set<Capability> caps = EnumSet.of(Capability.BLOCK_STATUS, Capability.CHECK);
    if (!readOnly) {
      caps.addAll(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
          Capability.FLUSH, Capability.REPAIR, Capability.RESIZE));
    }
    this.capabilities = Set.copyOf(caps);
  }

  // ---------------------------------------------------------------- plain facts

  @Override
  public long size() {
    return virtualSize;
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  /** How far tables and data may lie in the file: its length, and what this session allocated. */
  long fileLength() {
    return refcounts == null ? fileLengthAtOpen
        : Math.max(fileLengthAtOpen, refcounts.end() << layout.clusterBits);
  }

  /** Whether the image's metadata names a backing file (what unallocated clusters would show). */
  boolean namesBacking() {
    return header.backingFile != null;
  }

  /** Whether zero clusters can be expressed (v3); v2 images write zeros or unmap instead. */
  boolean zeroFlag() {
    return header.version >= 3;
  }

  boolean dataFileRaw() {
    return (header.autoclear & Features.DATA_FILE_RAW) != 0;
  }

  String snapshotView() {
    return snapshotView;
  }

  /** The fixed metadata a cluster holds, for the allocator's overlap guard. */
  private String metadataOwner(long cluster) {
    long off = cluster << layout.clusterBits;
    long cs = layout.clusterSize;
    if (cluster == 0) {
      return "header";
    }
    if (within(off, refcounts.tableOffset(), (long) refcounts.tableClusters() * cs)) {
      return "refcount table";
    }
    if (within(off, map.l1Offset(), map.l1().length * 8L)) {
      return "L1 table";
    }
    SnapshotTable s = snapshots;
    if (within(off, header.snapshotsOffset, s.bytes())) {
      return "snapshot table";
    }
    long[] t = refcounts.table();
    for (long e : t) {
      if ((e & Layout.OFFSET_MASK) == off) {
        return "refcount block";
      }
    }
    return null;
  }

  private boolean within(long clusterOffset, long start, long bytes) {
    return bytes > 0 && clusterOffset + layout.clusterSize > start && clusterOffset < start + bytes;
  }

  private void refcountTableMoved(long offset, int clusters) throws IOException {
    changeHeader(h -> {
      h.refcountTableOffset = offset;
      h.refcountTableClusters = clusters;
    });
  }

  /** Writes the header and flushes it; the caller holds the header's monitor. */
  void writeHeader() throws IOException {
    byte[] h = header.encode();
    file.write(0, ByteBuffer.wrap(h));
    barrier.order();
    written = header.copy();
  }

  /** The header as last written (or read); what a failed change goes back to. */
  private Qcow2Header written;

  /** A header change, written and flushed, or undone in memory when the write fails. */
  interface HeaderChange {
    void apply(Qcow2Header h) throws IOException;
  }

  void changeHeader(HeaderChange change) throws IOException {
    synchronized (header) {
      if (written == null) {
        written = header.copy();
      }
      Qcow2Header before = written;
      try {
        change.apply(header);
        writeHeader();
      } catch (IOException | RuntimeException e) {
        header.restore(before);
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------- reading

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    state.readLock().lock();
    try {
      long pos = offset;
      long end = offset + dst.remaining();
      while (pos < end) {
        long chunkEnd = Math.min(end, chunkEnd(pos));
        long first = pos >>> layout.clusterBits;
        long last = (chunkEnd - 1) >>> layout.clusterBits;
        try (ClusterLocks.Held h = clusterLocks.lock(first, last - first + 1, false)) {
          for (Segment s : map.segments(pos, chunkEnd - pos)) {
            ByteBuffer part = dst.slice();
            part.limit((int) s.length());
            reader.read(s, part);
            dst.position(dst.position() + (int) s.length());
          }
        }
        pos = chunkEnd;
      }
    } finally {
      state.readLock().unlock();
    }
  }

  /** The end of the L2 table span holding {@code pos}. */
  long chunkEnd(long pos) {
    return (pos | (layout.l2Span() - 1)) + 1;
  }

  // ---------------------------------------------------------------- block status

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    state.readLock().lock();
    try {
      long end = offset + length;
      Segment run = null;
      long pos = offset;
      while (pos < end) {
        long chunkEnd = Math.min(end, chunkEnd(pos));
        for (Segment s : map.segments(pos, chunkEnd - pos)) {
          if (run == null) {
            run = s;
          } else if (sameStatus(run, s)) {
            run = new Segment(run.offset(), run.length() + s.length(), run.kind(), run.host(),
                run.entry(), run.problem());
          } else {
            return extent(run);
          }
        }
        pos = chunkEnd;
      }
      return extent(run);
    } finally {
      state.readLock().unlock();
    }
  }

  private static boolean sameStatus(Segment a, Segment b) {
    if (a.kind() == Kind.COMPRESSED || a.kind() == Kind.BAD) {
      return b.kind() == a.kind();
    }
    return a.continuedBy(b);
  }

  private Extent extent(Segment s) {
    return switch (s.kind()) {
      case UNALLOCATED -> new Extent(s.offset(), s.length(), false, backing().isEmpty(), false,
          -1, null);
      case ZERO -> new Extent(s.offset(), s.length(), false, true, true, s.host(),
          s.host() >= 0 ? data : null);
      case NORMAL -> Extent.data(s.offset(), s.length(), s.host(), data);
      default -> new Extent(s.offset(), s.length(), true, false, true, -1, null);
    };
  }

  // ---------------------------------------------------------------- writing (see Writer, Zeroes, WriteSession)

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    writer.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    zeroes.zero(offset, length, false);
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    zeroes.zero(offset, length, true);
  }

  @Override
  protected void doFlush() throws IOException {
    if (allocator == null) {
      return;
    }
    state.readLock().lock();
    try {
      session.flushMetadata();
    } finally {
      state.readLock().unlock();
    }
  }

  @Override
  protected void doClose() throws IOException {
    try {
      if (allocator != null) {
        state.writeLock().lock();
        try {
          session.closeMetadata();
        } finally {
          state.writeLock().unlock();
        }
      }
    } finally {
      if (externalData) {
        data.close();
      }
    }
  }

  // ---------------------------------------------------------------- check, info, changes

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    state.writeLock().lock();
    try {
      if (allocator != null) {
        session.flushMetadata();
        allocator.releasePool();
      }
      return new Qcow2Check(this).run(mode);
    } finally {
      state.writeLock().unlock();
    }
  }

  /** Rebuilds the refcounts of an image left dirty, and clears the bit. */
  void repairDirty() throws IOException {
    state.writeLock().lock();
    try {
      new Qcow2Check(this).run(CheckMode.REPAIR_ALL);
    } finally {
      state.writeLock().unlock();
    }
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    state.writeLock().lock();
    try {
      session.prepare();
      new Changes(this).resize(newSize);
    } finally {
      state.writeLock().unlock();
    }
  }

  @Override
  protected void doAmend(Options options) throws IOException {
    state.writeLock().lock();
    try {
      new Changes(this).amend(options);
    } finally {
      state.writeLock().unlock();
    }
  }

  @Override
  protected void doChangeBacking(BackingLink link) throws IOException {
    state.writeLock().lock();
    try {
      new Changes(this).changeBacking(link);
    } finally {
      state.writeLock().unlock();
    }
  }

  @Override
  protected BackingLink backingLink() {
    if (header.backingFile == null) {
      return null;
    }
    RelatedName r = relatedName;
    return new BackingLink(header.backingFile, r != null ? r.resolve(header.backingFile)
        : header.backingFile, header.backingFormat);
  }

  /** Resolves stored names for {@link #backingLink} (the open request's related images). */
  interface RelatedName {
    String resolve(String stored);
  }

  volatile RelatedName relatedName;

  @Override
  public List<SnapshotInfo> snapshots() {
    return snapshots.snapshots().stream().map(SnapshotTable.Snapshot::info).toList();
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    return new ImageInfo(location, driver().name(), size(), allocatedSize(), layout.clusterSize,
        header.has(Features.DIRTY) && !lazyDirty, formatSpecific(), backingLink());
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("compat", header.version == 2 ? "0.10" : "1.1");
    if (header.version >= 3) {
      if (externalData) {
        m.put("data-file", header.dataFile);
        m.put("data-file-raw", dataFileRaw());
      }
      m.put("compression-type", compression.typeName());
      m.put("lazy-refcounts", (header.compatible & Features.LAZY_REFCOUNTS) != 0);
      if (!bitmaps.bitmaps().isEmpty()) {
        m.put("bitmaps", bitmaps.describe());
      }
      m.put("refcount-bits", layout.refcountBits);
      m.put("corrupt", header.has(Features.CORRUPT));
      m.put("extended-l2", layout.extendedL2);
    } else {
      m.put("compression-type", compression.typeName());
      m.put("refcount-bits", layout.refcountBits);
    }
    if (snapshotView != null) {
      m.put("snapshot", snapshotView);
    }
    return m;
  }

  /** A request that fails because the image's metadata cannot be trusted for writing. */
  BlockException refusal(String why) {
    return new BlockException("Cannot write to '" + location + "': " + why);
  }
}
