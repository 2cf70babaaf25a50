package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;
import static io.blockkit.vmdk.SparseHeader.roundUp;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A stream-optimized extent, written append-only in the layout VMware's tools require: grain
 * markers with zlib-compressed grains in increasing order, each grain table behind a GT marker
 * once its grains are written, then a GD marker with the grain directory, a footer marker with
 * the footer (the header again, holding the directory's real place), and an end-of-stream
 * marker. The header itself says {@link SparseHeader#GD_AT_END}.
 *
 * <p>Writes buffer the current grain; moving to a later grain compresses and appends it (a grain
 * of zeros is left out). A write into a grain already appended, or passed over, fails: a stream
 * is written once, in order, as {@code convert} does. {@link #flush} appends the current grain
 * and the closing structures, so the file is a complete stream after every flush; the next
 * write cuts those structures off again and goes on appending.
 */
final class StreamExtent extends SparseExtent {
  static final int MARKER_EOS = 0;
  static final int MARKER_GT = 1;
  static final int MARKER_GD = 2;
  static final int MARKER_FOOTER = 3;
  /** gdOffset of a stream without its closing structures: the grains are found by scanning. */
  static final long NO_DIRECTORY = -2;

  /** Sector where the next grain (or, when closed off, the closing structures) begins. */
  private long appendAt;
  /** Whether closing structures follow {@link #appendAt} on disk. */
  private boolean closedOff;
  /** The highest grain appended or passed over; earlier grains are final. */
  private long lastGrain = -1;
  /** The grain being filled, or -1. */
  private long pendingGrain = -1;
  private ByteBuffer pending;
  /** GT groups below this have their table written for good. */
  private int tablesDone;
  /** Grains found by scanning a stream that lacks its closing structures, or -1. */
  private final long scanned;

  /**
   * @param gdOffset the grain directory's sector, or {@link #NO_DIRECTORY} for a stream whose
   *     writer was interrupted before it wrote its closing structures: its grain markers are
   *     read front to back instead, and a read-write open completes it at the next flush
   */
  StreamExtent(BlockDevice file, String name, SparseHeader header, long gdOffset, long length,
      boolean writable) throws IOException {
    super(file, name, header, gdOffset, length, writable);
    scanned = gdOffset == NO_DIRECTORY ? scan() : -1;
    if (writable) {
      resumeAfterLastGrain(gdOffset);
    }
  }

  /**
   * Rebuilds the grain tables from the grain markers after the overhead, up to the first sector
   * that is no complete marker; returns the number of grains found.
   */
  private long scan() throws IOException {
    long fileLength = file.size();
    long grains = (length + grainBytes() - 1) / grainBytes();
    long found = 0;
    long lastGroup = -1;
    long s = header.overhead;
    while (s > 0 && s <= fileLength / SECTOR - 1) {
      CompressedGrain.Marker m = CompressedGrain.Marker.read(file, s * SECTOR, 16);
      long val = m.value();
      if (m.size() > 0) {
        long g = val / header.grainSectors;
        if (val < 0 || val % header.grainSectors != 0 || g >= grains
            || m.size() > CompressedGrain.maxStored(grainBytes(), s * SECTOR, fileLength)) {
          break;
        }
        tables.remember(g, (int) s);
        lastGroup = g / header.gtesPerGt;
        found++;
        s += CompressedGrain.sectors(m.size());
      } else if ((m.type() == MARKER_GT || m.type() == MARKER_GD) && val > 0
          && val <= (fileLength / SECTOR)) {
        if (m.type() == MARKER_GT && lastGroup >= 0) {
          tables.gd[(int) lastGroup] = (int) (s + 1); // a table follows the grains of its group
        }
        s += 1 + val;
      } else if (m.type() == MARKER_FOOTER) {
        s += 2;
      } else {
        break; // the end-of-stream marker, or where the interrupted writer stopped
      }
    }
    return found;
  }

  /** Finds where appending continues: after the last grain, before the structures behind it. */
  private void resumeAfterLastGrain(long gdOffset) throws IOException {
    long lastAt = -1;
    for (int gdi = 0; gdi < tables.gd.length; gdi++) {
      int[] gt = tables.table(gdi);
      for (int i = 0; gt != null && i < gt.length; i++) {
        long at = Integer.toUnsignedLong(gt[i]);
        if (gt[i] != 0 && at > lastAt) {
          lastAt = at;
          lastGrain = (long) gdi * header.gtesPerGt + i;
        }
      }
    }
    if (lastGrain < 0) {
      appendAt = header.overhead;
    } else {
      // Checked: a damaged marker must not move where appending (and the cut-off) begins.
      appendAt = lastAt + CompressedGrain.sectors(
          CompressedGrain.storedSize(this, lastGrain, (int) lastAt));
    }
    tablesDone = (int) (lastGrain < 0 ? 0 : lastGrain / header.gtesPerGt);
    for (int gdi = 0; gdi < tablesDone; gdi++) {
      if (tables.gd[gdi] != 0 && Integer.toUnsignedLong(tables.gd[gdi]) >= appendAt) {
        throw new BlockException("Cannot append to the stream-optimized image '" + name
            + "': its grain table " + gdi + " follows its last grain, a layout blockkit does "
            + "not continue; convert it to a new image instead");
      }
    }
    if (scanned >= 0) {
      return; // nothing closes the stream yet: the next flush writes the closing structures
    }
    if (gdOffset <= appendAt || file.size() < (appendAt + 3) * SECTOR) {
      throw new BlockException("Cannot append to the stream-optimized image '" + name
          + "': it does not end with a grain directory, footer and end-of-stream marker after "
          + "its grains (not the layout blockkit writes); convert it to a new image instead");
    }
    closedOff = true;
  }

  @Override
  void readGrain(long g, long in, ByteBuffer part, Parent parent, long pos) throws IOException {
    if (g == pendingGrain) {
      part.put(pending.duplicate().position((int) in).limit((int) in + part.remaining()));
    } else {
      super.readGrain(g, in, part, parent, pos);
    }
  }

  @Override
  void writeGrain(long g, long in, ByteBuffer part, Parent parent) throws IOException {
    if (g != pendingGrain && isZero(part.duplicate()) && tables.entry(g) == 0) {
      return; // zeros into a grain that holds none: nothing to store, in or out of order
    }
    grainFor(g).position((int) in).put(part);
  }

  @Override
  void zeroGrain(long g, long in, long n, long pos, boolean hasParent, Parent parent)
      throws IOException {
    if (g == pendingGrain) {
      ByteBuffer b = pending.duplicate().position((int) in);
      for (long i = 0; i < n; i++) {
        b.put((byte) 0);
      }
    } else if (tables.entry(g) != 0) {
      throw rewrite(g);
    }
  }

  /** The buffer of grain {@code g}, appending the pending one first when {@code g} is later. */
  private ByteBuffer grainFor(long g) throws IOException {
    if (g == pendingGrain) {
      return pending;
    }
    if (g <= lastGrain || g < pendingGrain) {
      throw rewrite(g);
    }
    appendPending();
    cutOff(); // the closing structures a flush wrote go: this grain comes after them
    pendingGrain = g;
    pending = ByteBuffer.allocate((int) grainBytes());
    return pending;
  }

  private BlockException rewrite(long g) {
    return new BlockException("Cannot write grain " + g + " (at byte " + g * grainBytes()
        + ") of the stream-optimized image '" + name + "': a stream is written once, in order, "
        + "and grain " + Math.max(lastGrain, pendingGrain) + " was written already. Write a "
        + "monolithicSparse image and convert it to streamOptimized");
  }

  /** Compresses and appends the pending grain (unless all zeros), writing finished GTs first. */
  private void appendPending() throws IOException {
    if (pendingGrain < 0) {
      return;
    }
    long g = pendingGrain;
    ByteBuffer data = pending;
    pendingGrain = -1;
    pending = null;
    cutOff();
    int group = (int) (g / header.gtesPerGt);
    while (tablesDone < group) {
      writeTable(tablesDone, true);
      tablesDone++;
    }
    lastGrain = g;
    data.clear();
    int valid = (int) Math.min(grainBytes(), length - g * grainBytes());
    data.limit(valid);
    if (isZero(data.duplicate())) {
      return;
    }
    ByteBuffer marker = CompressedGrain.encode(g, header.grainSectors, data);
    long at = appendAt;
    file.write(at * SECTOR, marker);
    appendAt += marker.capacity() / SECTOR;
    tables.remember(g, (int) at);
  }

  /** Removes the closing structures a flush wrote, before anything else is appended. */
  private void cutOff() throws IOException {
    if (closedOff) {
      file.truncate(appendAt * SECTOR);
      closedOff = false;
    }
  }

  /** Appends GT {@code group} behind a GT marker, if any grain of it was stored. */
  private void writeTable(int group, boolean last) throws IOException {
    int[] gt = tables.gts[group];
    if (gt == null) {
      return;
    }
    long sectors = roundUp(4L * header.gtesPerGt) / SECTOR;
    ByteBuffer b = ByteBuffer.allocate((int) ((1 + sectors) * SECTOR))
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, sectors).putInt(8, 0).putInt(12, MARKER_GT);
    for (int i = 0; i < gt.length; i++) {
      b.putInt(SECTOR + 4 * i, gt[i]);
    }
    file.write(appendAt * SECTOR, b);
    if (last) {
      tables.gd[group] = (int) (appendAt + 1);
    }
    appendAt += 1 + sectors;
  }

  /**
   * Appends the pending grain and the closing structures: the GTs not yet written, GD marker and
   * GD, footer marker and footer, end-of-stream marker. {@link #appendAt} stays before the GTs
   * of groups still open, so that the next write replaces them.
   */
  @Override
  public void flush() throws IOException {
    if (!writable) {
      return;
    }
    lock.writeLock().lock();
    try {
      if (!closedOff) {
        appendPending();
        cutOff();
        long mark = appendAt;
        int[] provisional = tables.gd.clone();
        for (int group = tablesDone; group < tables.gd.length; group++) {
          if (tables.gts[group] != null) {
            provisional[group] = (int) (appendAt + 1);
            writeTable(group, false);
          }
        }
        writeClosing(provisional);
        appendAt = mark;
        closedOff = true;
      }
      file.flush();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** GD marker and GD, footer marker and footer, EOS marker, from {@link #appendAt}. */
  private void writeClosing(int[] directory) throws IOException {
    file.write(appendAt * SECTOR, closing(header, directory, appendAt + 1));
  }

  /** Writes the closing structures of an image with no grains yet: create's last step. */
  static void writeEmpty(BlockDevice file, SparseHeader header) throws IOException {
    int[] none = new int[(int) header.gdEntries()];
    file.write(header.overhead * SECTOR, closing(header, none, header.overhead + 1));
  }

  /** The closing structures, the directory at sector {@code gdAt} (just past its marker). */
  private static ByteBuffer closing(SparseHeader header, int[] directory, long gdAt) {
    long gdSectors = roundUp(4L * directory.length) / SECTOR;
    ByteBuffer b = ByteBuffer.allocate((int) ((1 + gdSectors + 3) * SECTOR))
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, gdSectors).putInt(12, MARKER_GD);
    for (int i = 0; i < directory.length; i++) {
      b.putInt(SECTOR + 4 * i, directory[i]);
    }
    int footerMarker = (int) ((1 + gdSectors) * SECTOR);
    b.putLong(footerMarker, 1).putInt(footerMarker + 12, MARKER_FOOTER);
    b.put(footerMarker + SECTOR, header.withGd(gdAt).toBytes(), 0, SECTOR);
    return b; // the end-of-stream marker is the last sector, all zeros
  }

  @Override
  public void check(io.blockkit.api.CheckReport.Builder report, String extentName,
      Totals totals) throws IOException {
    super.check(report, extentName, totals);
    if (scanned >= 0 && !closedOff) {
      report.leak(extentName + ": the stream ends without its grain directory, footer and "
          + "end-of-stream marker (its writer was interrupted); its markers give " + scanned
          + " grains. Open it read-write and close it to write them, or convert it");
    }
  }

  /** An interrupted stream is completed by writing its closing structures: a flush. */
  @Override
  public void repair(io.blockkit.api.CheckMode mode) throws IOException {
    flush();
  }

  @Override
  public void close() throws IOException {
    if (writable) {
      flush();
    }
  }

  static boolean isZero(ByteBuffer b) {
    while (b.remaining() >= 8) {
      if (b.getLong() != 0) {
        return false;
      }
    }
    while (b.hasRemaining()) {
      if (b.get() != 0) {
        return false;
      }
    }
    return true;
  }

  /** For messages about a stream whose footer is missing. */
  static CorruptImageException noFooter(String name, long fileLength, String found) {
    return new CorruptImageException(name, "stream-optimized footer", Math.max(0,
        fileLength - 3 * SECTOR), found, "a footer marker, footer and end-of-stream marker in "
            + "the last 1536 bytes (an incomplete stream: was its writer interrupted?)");
  }
}
