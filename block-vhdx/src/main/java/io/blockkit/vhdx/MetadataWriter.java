package io.blockkit.vhdx;

import io.blockkit.vhdx.LogEntry.Update;
import io.blockkit.vhdx.PageCache.Page;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Every change a writable open makes to the file's metadata, under one lock: the session's header
 * updates (a new FileWriteGuid before the first change, a new DataWriteGuid before the first
 * change a reader of the disk could see, a LogGuid while the log is in use), BAT and sector bitmap
 * words changed in memory and committed through the {@link LogWriter}, zeroed ranges for new
 * bitmap blocks, and the {@link SpaceMap} that places new blocks.
 *
 * <p>A change stays in memory (so the open image reads what it wrote) and dirty until a commit
 * succeeds: a commit that fails is retried by the next one and by {@link #flush}, so a flush never
 * returns while an acknowledged change is missing from the log.
 */
final class MetadataWriter {
  final ReentrantLock lock = new ReentrantLock();
  private final ImageFile file;
  private final Headers headers;
  private final PageCache pages;
  private final SpaceMap space;
  /** Updates to log before the dirty pages: zeroed new bitmap blocks, rewritten region tables. */
  private final List<Update> extra = new ArrayList<>();
  private boolean sessionStarted;
  private boolean dataChanged;
  private LogWriter log;

  MetadataWriter(ImageFile file, Headers headers, PageCache pages, SpaceMap space) {
    this.file = file;
    this.headers = headers;
    this.pages = pages;
    this.space = space;
  }

  SpaceMap space() {
    return space;
  }

  Headers headers() {
    return headers;
  }

  /**
   * Makes the header ready for a change (caller holds the lock): a new FileWriteGuid at the
   * session's first change, a new DataWriteGuid at its first change of what the disk reads.
   */
  void begin(boolean userVisible) throws IOException {
    boolean newFile = !sessionStarted;
    boolean newData = userVisible && !dataChanged;
    if (!newFile && !newData) {
      return;
    }
    // A log GUID left by another session names no entry this one could extend: drop it.
    VhdxHeader h = headers.current();
    headers.update(file.child(), h.next(newFile ? Guids.random() : h.fileWriteGuid(),
        newData ? Guids.random() : h.dataWriteGuid(), log != null ? log.guid() : Guids.NULL));
    sessionStarted = true;
    dataChanged |= newData;
  }

  /** Sets the word at file offset {@code at}; the caller holds the lock and commits after. */
  void set(long at, long value) throws IOException {
    Page p = pages.page(at & -Layout.PAGE);
    p.words.set((int) (at & (Layout.PAGE - 1)) >>> 3, value);
    p.dirty = true;
  }

  /**
   * Records that {@code [offset, offset + length)} (a new sector bitmap block) is to be zeroed
   * by the next commit, before any page of it: pages of it read as zeros meanwhile.
   */
  void zero(long offset, long length) {
    extra.add(Update.zeros(offset, length));
    pages.assumeZero(offset, length);
  }

  /** Commits {@code updates} (4 KiB pages outside the page cache) with every pending change. */
  void commitUpdates(List<Update> updates) throws IOException {
    extra.addAll(updates);
    commit();
  }

  /** Whether changes wait for a commit. */
  boolean pending() {
    return !extra.isEmpty() || !pages.dirty().isEmpty() || log != null && log.hasUnapplied();
  }

  /** Commits every pending change through the log; the caller holds the lock. */
  void commit() throws IOException {
    commit(Long.MAX_VALUE);
  }

  private void commit(long flushedLimit) throws IOException {
    List<Page> dirty = pages.dirty();
    List<Update> updates = new ArrayList<>(extra);
    for (Page p : dirty) {
      ByteBuffer b = p.encode();
      updates.add(isZero(b) ? Update.zeros(p.offset, Layout.PAGE) : Update.page(p.offset, b));
    }
    if (updates.isEmpty() && flushedLimit == Long.MAX_VALUE) {
      return;
    }
    startLog();
    log.commit(updates, space.end(), flushedLimit);
    extra.clear();
    pages.clearAssumedZero();
    for (Page p : dirty) {
      p.dirty = false;
    }
    pages.trim();
  }

  /**
   * Records in the log that the file is about to shrink to {@code newLength}, so that a crash
   * after the cut does not make a replay find the file truncated; the caller holds the lock.
   */
  void beforeShrink(long newLength) throws IOException {
    commit(newLength);
  }

  private void startLog() throws IOException {
    if (log != null) {
      return;
    }
    begin(false);
    UUID guid = Guids.random();
    VhdxHeader h = headers.current();
    LogWriter w = LogWriter.start(file, h.logOffset(), h.logLength(), guid, space.end());
    headers.update(file.child(), h.next(h.fileWriteGuid(), h.dataWriteGuid(), guid));
    log = w;
  }

  /** Commits pending changes, writes logged updates in place, flushes; the caller holds the lock. */
  void flush() throws IOException {
    commit();
    if (log != null) {
      log.settle();
    } else {
      file.flush();
    }
  }

  /**
   * At a clean close (caller holds the lock): everything committed and in place, then both
   * headers without a LogGuid, so that no reader finds a log to replay.
   */
  void close() throws IOException {
    flush();
    if (log != null) {
      VhdxHeader h = headers.current();
      VhdxHeader clean = h.next(h.fileWriteGuid(), h.dataWriteGuid(), Guids.NULL);
      headers.update(file.child(), clean);
      headers.update(file.child(), clean.next(clean.fileWriteGuid(), clean.dataWriteGuid(),
          Guids.NULL));
      log = null;
    }
  }

  private static boolean isZero(ByteBuffer b) {
    for (int i = 0; i < b.limit(); i += 8) {
      if (b.getLong(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
