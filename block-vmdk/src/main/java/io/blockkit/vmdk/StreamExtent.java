package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.Deflater;

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
    long limit = 2 * grainBytes() + SECTOR;
    long found = 0;
    long lastGroup = -1;
    long s = header.overhead;
    ByteBuffer m = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    while (s > 0 && s <= fileLength / SECTOR - 1) {
      m.clear();
      file.read(s * SECTOR, m);
      long val = m.getLong(0);
      long size = Integer.toUnsignedLong(m.getInt(8));
      if (size > 0) {
        long g = val / header.grainSectors;
        if (val < 0 || val % header.grainSectors != 0 || g >= (length + grainBytes() - 1)
            / grainBytes() || size > limit || s * SECTOR + 12 + size > fileLength) {
          break;
        }
        int gdi = (int) (g / header.gtesPerGt);
        if (gts[gdi] == null) {
          gts[gdi] = new int[header.gtesPerGt];
        }
        gts[gdi][(int) (g % header.gtesPerGt)] = (int) s;
        lastGroup = gdi;
        found++;
        s += (12 + size + SECTOR - 1) / SECTOR;
      } else if ((m.getInt(12) == MARKER_GT || m.getInt(12) == MARKER_GD) && val > 0
          && val <= (fileLength / SECTOR)) {
        if (m.getInt(12) == MARKER_GT && lastGroup >= 0) {
          gd[(int) lastGroup] = (int) (s + 1); // a table follows the grains of its group
        }
        s += 1 + val;
      } else if (m.getInt(12) == MARKER_FOOTER) {
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
    for (int gdi = 0; gdi < gd.length; gdi++) {
      int[] gt = table(gdi);
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
      ByteBuffer m = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      file.read(lastAt * SECTOR, m);
      long size = Integer.toUnsignedLong(m.getInt(8));
      appendAt = lastAt + (12 + size + SECTOR - 1) / SECTOR;
    }
    tablesDone = (int) (lastGrain < 0 ? 0 : lastGrain / header.gtesPerGt);
    for (int gdi = 0; gdi < tablesDone; gdi++) {
      if (gd[gdi] != 0 && Integer.toUnsignedLong(gd[gdi]) >= appendAt) {
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
  public void read(long offset, ByteBuffer dst, Parent parent) throws IOException {
    lock.readLock().lock();
    try {
      long grain = grainBytes();
      long pos = offset;
      while (dst.hasRemaining()) {
        long g = pos / grain;
        int n = (int) Math.min(dst.remaining(), grain - pos % grain);
        ByteBuffer part = dst.slice().limit(n);
        if (g == pendingGrain) {
          part.put(pending.duplicate().position((int) (pos % grain)).limit((int) (pos % grain)
              + n));
        } else {
          super.read(pos, part, parent);
        }
        dst.position(dst.position() + n);
        pos += n;
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Parent parent) throws IOException {
    requireWritable();
    lock.writeLock().lock();
    try {
      long grain = grainBytes();
      long pos = offset;
      while (src.hasRemaining()) {
        long g = pos / grain;
        int n = (int) Math.min(src.remaining(), grain - pos % grain);
        ByteBuffer part = src.slice().limit(n);
        if (g != pendingGrain && isZero(part.duplicate()) && entry(g) == 0) {
          // Zeros into a grain that holds none: nothing to store, in or out of order.
        } else {
          grainFor(g).position((int) (pos % grain)).put(part);
        }
        src.position(src.position() + n);
        pos += n;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void writeZeroes(long offset, long len, boolean hasParent, Parent parent)
      throws IOException {
    requireWritable();
    lock.writeLock().lock();
    try {
      long grain = grainBytes();
      long pos = offset;
      long end = offset + len;
      while (pos < end) {
        long g = pos / grain;
        long n = Math.min(end - pos, grain - pos % grain);
        if (g == pendingGrain) {
          ByteBuffer b = pending.duplicate().position((int) (pos % grain));
          for (long i = 0; i < n; i++) {
            b.put((byte) 0);
          }
        } else if (entry(g) != 0) {
          throw rewrite(g);
        }
        pos += n;
      }
    } finally {
      lock.writeLock().unlock();
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
    byte[] compressed = deflate(data);
    ByteBuffer marker = ByteBuffer.allocate((int) roundUp(12 + compressed.length))
        .order(ByteOrder.LITTLE_ENDIAN);
    marker.putLong(g * header.grainSectors).putInt(compressed.length).put(compressed).clear();
    long at = appendAt;
    file.write(at * SECTOR, marker);
    appendAt += marker.capacity() / SECTOR;
    int[] gt = gts[group];
    if (gt == null) {
      gt = new int[header.gtesPerGt];
      gts[group] = gt;
    }
    gt[(int) (g % header.gtesPerGt)] = (int) at;
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
    int[] gt = gts[group];
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
      gd[group] = (int) (appendAt + 1);
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
        int[] provisional = gd.clone();
        for (int group = tablesDone; group < gd.length; group++) {
          if (gts[group] != null) {
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

  private static byte[] deflate(ByteBuffer data) {
    byte[] in = new byte[data.remaining()];
    data.get(in);
    Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION);
    try {
      d.setInput(in);
      d.finish();
      ByteBuffer out = ByteBuffer.allocate(in.length + in.length / 100 + 64);
      byte[] chunk = new byte[64 << 10];
      while (!d.finished()) {
        int n = d.deflate(chunk);
        if (out.remaining() < n) {
          ByteBuffer bigger = ByteBuffer.allocate(out.capacity() * 2 + n);
          bigger.put(out.flip());
          out = bigger;
        }
        out.put(chunk, 0, n);
      }
      byte[] result = new byte[out.position()];
      out.flip().get(result);
      return result;
    } finally {
      d.end();
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

  static long roundUp(long bytes) {
    return (bytes + SECTOR - 1) / SECTOR * SECTOR;
  }

  /** For messages about a stream whose footer is missing. */
  static CorruptImageException noFooter(String name, long fileLength, String found) {
    return new CorruptImageException(name, "stream-optimized footer", Math.max(0,
        fileLength - 3 * SECTOR), found, "a footer marker, footer and end-of-stream marker in "
            + "the last 1536 bytes (an incomplete stream: was its writer interrupted?)");
  }
}
