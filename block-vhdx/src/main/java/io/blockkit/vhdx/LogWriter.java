package io.blockkit.vhdx;

import io.blockkit.vhdx.LogEntry.Update;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Writes metadata updates through the log, one session's {@code LogGuid} at a time.
 *
 * <p>Each commit: (1) writes again in place any updates a previous commit logged but could not
 * apply, (2) flushes, so that the data the updates refer to and every earlier in-place update are
 * durable, (3) writes one entry whose tail is the entry itself (nothing older needs replaying any
 * more), at the log's head or, when it does not fit before the log's end, at its start, (4)
 * flushes, and (5) writes the updates in place. A crash before (4) completes leaves the previous
 * state (the entry is torn or absent, and the scan finds the previous entry, whose updates are in
 * place already); after it, a replay redoes the updates. The space of older entries is reused only
 * once they no longer need replaying, so the active sequence is always intact.
 */
final class LogWriter {
  private final ImageFile file;
  private final long logOffset;
  private final long logLength;
  private final UUID guid;
  private long head;
  private long sequence;
  /** Updates logged durably whose in-place write failed: written again by the next commit. */
  private final List<Update> unapplied = new ArrayList<>();

  private LogWriter(ImageFile file, long logOffset, long logLength, UUID guid) {
    this.file = file;
    this.logOffset = logOffset;
    this.logLength = logLength;
    this.guid = guid;
  }

  /**
   * Opens a new log: writes an empty entry with {@code guid} at the log's start and flushes, so
   * that from the moment a header names {@code guid}, the log holds a valid sequence of it.
   */
  static LogWriter start(ImageFile file, long logOffset, long logLength, UUID guid,
      long lastFileOffset) throws IOException {
    LogWriter w = new LogWriter(file, logOffset, logLength, guid);
    w.writeEntry(List.of(), lastFileOffset, Long.MAX_VALUE);
    file.flush();
    return w;
  }

  UUID guid() {
    return guid;
  }

  /** The most updates of one entry: its descriptor sectors and data sectors fill the log. */
  private long maxSectors() {
    return logLength / Layout.PAGE;
  }

  /**
   * Commits {@code updates} in as few entries as fit the log (each entry atomic; callers order the
   * updates so that every prefix is consistent).
   *
   * @param lastFileOffset the file size every structure fits into after these updates
   * @param flushedLimit the file size the entries may at most claim as durable (a size the file
   *     is about to be cut to), or {@link Long#MAX_VALUE}
   * @throws IOException when an update could not be made durable in the log, or (after it was)
   *     not written in place; in the second case the next commit or {@link #settle} writes it
   *     again, and a replay would
   */
  void commit(List<Update> updates, long lastFileOffset, long flushedLimit) throws IOException {
    int from = 0;
    do {
      int to = from;
      long sectors = 1;
      while (to < updates.size()) {
        long next = LogEntry.descriptorSectors(to - from + 1)
            + dataSectors(updates, from, to + 1);
        if (next > maxSectors()) {
          break;
        }
        sectors = next;
        to++;
      }
      if (to == from && !updates.isEmpty()) {
        throw new IllegalStateException("an update does not fit the log");
      }
      List<Update> part = updates.subList(from, to);
      settle();
      writeEntry(part, lastFileOffset, flushedLimit);
      file.flush();
      unapplied.addAll(part);
      applyUnapplied();
      from = to;
    } while (from < updates.size());
  }

  private static long dataSectors(List<Update> updates, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      n += updates.get(i).dataSectors();
    }
    return n;
  }

  /** Writes again in place what earlier commits logged but could not apply, then flushes. */
  void settle() throws IOException {
    applyUnapplied();
    file.flush();
  }

  /** True while logged updates wait to be written in place. */
  boolean hasUnapplied() {
    return !unapplied.isEmpty();
  }

  private void applyUnapplied() throws IOException {
    while (!unapplied.isEmpty()) {
      Update u = unapplied.get(0);
      if (u.page() == null) {
        file.writeZeroes(u.fileOffset(), u.length());
      } else {
        file.write(u.fileOffset(), u.page().duplicate().clear());
      }
      unapplied.remove(0);
    }
  }

  private void writeEntry(List<Update> part, long lastFileOffset, long flushedLimit)
      throws IOException {
    long flushed = Layout.roundDown(Math.min(file.length(), flushedLimit), Layout.MIB);
    long last = Layout.roundUp(lastFileOffset, Layout.MIB);
    sequence++;
    long length = (LogEntry.descriptorSectors(part.size()) + dataSectors(part, 0, part.size()))
        * Layout.PAGE;
    if (head + length > logLength) {
      head = 0; // everything before is applied and flushed: the entry starts a new sequence
    }
    ByteBuffer entry = LogEntry.encode(guid, sequence, head, flushed, last, part);
    long at = head;
    head = (head + length) % logLength;
    file.write(logOffset + at, entry);
  }
}
