package io.blockkit.vdi;

import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The metadata journal of one open image: which map entries and header fields changed in memory
 * and are not on disk yet, the count of physical blocks ({@code blocks_allocated} to be), the
 * session's modification UUID, and the order in which all of it reaches the file (see {@link
 * #writeDirty}). Every request that changes metadata commits through here; a failed write leaves
 * its part dirty for the next commit, flush or close.
 */
final class VdiJournal {
  /** Changed map entries and whether the header must be rewritten, for one request. */
  static final class Changes {
    long first = Long.MAX_VALUE;
    long last = -1;
    boolean header;

    void entry(long block) {
      first = Math.min(first, block);
      last = Math.max(last, block);
    }

    /** The entries {@code [first, last]}, no header change (yet). */
    static Changes entries(long first, long last) {
      Changes c = new Changes();
      c.entry(first);
      c.entry(last);
      return c;
    }

    /** A header change alone. */
    static Changes header() {
      Changes c = new Changes();
      c.header = true;
      return c;
    }
  }

  private final VdiImage image;
  /** Serialises metadata writes so the last write of a map sector carries every entry set before it. */
  private final ReentrantLock lock = new ReentrantLock();
  /**
   * Map entries changed in memory whose sectors are not yet written (a request's own, or left by a
   * failed write), and whether the header must be written. Guarded by {@link #lock}.
   */
  private long dirtyFirst = Long.MAX_VALUE;
  private long dirtyLast = -1;
  private boolean headerDirty;
  /** True while any of the above is set; read without the lock to keep clean paths lock-free. */
  private volatile boolean pending;
  /** The next physical block index to hand out. */
  final AtomicLong nextFree;
  private final AtomicBoolean modified = new AtomicBoolean();
  private volatile UUID uuidModify;
  /** blocks_allocated as last read from or written to the file. */
  private volatile long headerCount;

  VdiJournal(VdiImage image, VdiHeader header, long nextFree) {
    this.image = image;
    this.nextFree = new AtomicLong(nextFree);
    this.uuidModify = header.uuidModify;
    this.headerCount = header.blocksAllocated;
  }

  UUID modificationUuid() {
    return uuidModify;
  }

  /** True once this session changed the image (and so gave it a new modification UUID). */
  boolean modified() {
    return modified.get();
  }

  long headerCount() {
    return headerCount;
  }

  /**
   * The first modifying request of a session gives the image a new modification UUID, as
   * VirtualBox does; the header carrying it goes with the request's metadata.
   */
  void markModified(Changes changes) {
    if (!modified.get() && modified.compareAndSet(false, true)) {
      uuidModify = UUID.randomUUID();
      changes.header = true;
    }
  }

  /** Adds a request's changes to the unwritten metadata and writes all of it: see {@link #writeDirty}. */
  void commit(Changes changes) throws IOException {
    if (changes.last < 0 && !changes.header) {
      return;
    }
    lock.lock();
    try {
      addDirty(changes);
      writeDirty();
    } finally {
      pending = headerDirty || dirtyLast >= 0;
      lock.unlock();
    }
  }

  /** Writes whatever metadata is unwritten: left by a failed write, or published by a request that has not committed yet. */
  void writePending() throws IOException {
    if (!pending) {
      return;
    }
    lock.lock();
    try {
      writeDirty();
    } finally {
      pending = headerDirty || dirtyLast >= 0;
      lock.unlock();
    }
  }

  boolean pending() {
    return pending;
  }

  /**
   * Sets a new block's entry, marked unwritten in the same step: no metadata write can fall
   * between the two and leave a visible entry that nothing will write.
   */
  void publish(long block, int phys) throws IOException {
    lock.lock();
    try {
      dirtyFirst = Math.min(dirtyFirst, block);
      dirtyLast = Math.max(dirtyLast, block);
      pending = true;
      image.map.set(block, phys);
    } finally {
      lock.unlock();
    }
  }

  /** Records changes as unwritten without writing them (a later commit or flush does). */
  void markDirty(Changes changes) {
    lock.lock();
    try {
      addDirty(changes);
    } finally {
      lock.unlock();
    }
  }

  /** Forgets entries recorded as unwritten (a resize replaced the map they belonged to). */
  void clearEntries() {
    lock.lock();
    try {
      dirtyFirst = Long.MAX_VALUE;
      dirtyLast = -1;
      pending = headerDirty;
    } finally {
      lock.unlock();
    }
  }

  /** For a resize: blocks_allocated as the header just written holds it. */
  void headerWritten(long count) {
    headerCount = count;
  }

  private void addDirty(Changes changes) {
    dirtyFirst = Math.min(dirtyFirst, changes.first);
    dirtyLast = Math.max(dirtyLast, changes.last);
    headerDirty |= changes.header;
    pending = headerDirty || dirtyLast >= 0;
  }

  /**
   * Writes the unwritten map sectors and, when needed, the header (at most one write each, except
   * for repairs of huge maps). Caller holds {@link #lock} and the change lock (shared or
   * exclusive).
   *
   * <p>The file must never hold a map entry using a physical block at or past its
   * blocks_allocated: QEMU and VirtualBox allocate there and would overwrite the block. So the
   * map sectors are taken first (with entries other requests set meanwhile, which may use blocks
   * they have just allocated), then the count: every block an entry uses was counted in {@link
   * #nextFree} before the entry was set. The header goes first when the count rises or stays
   * (a crash in between leaks the new blocks), and last when it falls, which only compaction
   * does after the map stopped using the blocks. A failed write leaves its part dirty.
   */
  private void writeDirty() throws IOException {
    BlockMap map = image.map;
    BlockMap.Sectors sectors = dirtyLast >= 0 ? map.sectors(dirtyFirst, dirtyLast) : null;
    long count = nextFree.get();
    boolean needHeader = headerDirty || sectors != null && sectors.highestBlock() >= headerCount;
    if (sectors != null && count < headerCount) {
      writeMapSectors(map, sectors);
      sectors = null;
    }
    if (needHeader) {
      image.file().write(0, image.header.encode(count, uuidModify));
      headerCount = count;
      headerDirty = false;
    }
    if (sectors != null) {
      writeMapSectors(map, sectors);
    }
  }

  private void writeMapSectors(BlockMap map, BlockMap.Sectors sectors) throws IOException {
    map.write(sectors);
    dirtyFirst = Long.MAX_VALUE;
    dirtyLast = -1;
  }
}
