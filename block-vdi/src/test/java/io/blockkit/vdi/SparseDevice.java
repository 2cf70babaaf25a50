package io.blockkit.vdi;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.Capability;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A protocol node of any length that stores only the 64 KiB chunks that differ from a background:
 * bytes {@code 0xff} in {@code [ffStart, ffEnd)} (where a VDI block map of FREE entries lies),
 * zeros elsewhere. Lets a test build a VDI with a 2 GiB block map in a few KiB of heap.
 */
final class SparseDevice extends AbstractBlockDevice {
  private static final int CHUNK = 1 << 16;

  private final long ffStart;
  private final long ffEnd;
  /** Shared by every node opened on the same bytes (closing the image closes its node). */
  private final Map<Long, byte[]> chunks;
  private final long[] length;

  SparseDevice(long ffStart, long ffEnd) {
    this(ffStart, ffEnd, new HashMap<>(), new long[1]);
  }

  private SparseDevice(long ffStart, long ffEnd, Map<Long, byte[]> chunks, long[] length) {
    super(MemDevice.DRIVER, "sparse", false, null);
    this.ffStart = ffStart;
    this.ffEnd = ffEnd;
    this.chunks = chunks;
    this.length = length;
  }

  /** A new open node on the same bytes. */
  SparseDevice reopen() {
    return new SparseDevice(ffStart, ffEnd, chunks, length);
  }

  @Override
  public long size() {
    synchronized (chunks) {
      return length[0];
    }
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.WRITE, Capability.GROW, Capability.FLUSH, Capability.RESIZE);
  }

  /** Chunks held in memory. */
  int storedChunks() {
    synchronized (chunks) {
      return chunks.size();
    }
  }

  private byte[] background(long chunk) {
    byte[] b = new byte[CHUNK];
    long start = chunk * CHUNK;
    long from = Math.max(start, ffStart);
    long to = Math.min(start + CHUNK, ffEnd);
    if (from < to) {
      Arrays.fill(b, (int) (from - start), (int) (to - start), (byte) 0xff);
    }
    return b;
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) {
    synchronized (chunks) {
      readLocked(offset, dst);
    }
  }

  private void readLocked(long offset, ByteBuffer dst) {
    long end = Math.min(offset + dst.remaining(), length[0]);
    long pos = offset;
    while (pos < end) {
      long chunk = pos / CHUNK;
      int in = (int) (pos % CHUNK);
      int n = (int) Math.min(CHUNK - in, end - pos);
      byte[] c = chunks.get(chunk);
      dst.put(c != null ? c : background(chunk), in, n);
      pos += n;
    }
    while (dst.hasRemaining()) {
      dst.put((byte) 0);
    }
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) {
    synchronized (chunks) {
      writeLocked(offset, src);
    }
  }

  private void writeLocked(long offset, ByteBuffer src) {
    long pos = offset;
    while (src.hasRemaining()) {
      long chunk = pos / CHUNK;
      int in = (int) (pos % CHUNK);
      int n = Math.min(CHUNK - in, src.remaining());
      byte[] bg = background(chunk);
      byte[] c = chunks.getOrDefault(chunk, bg.clone());
      src.get(c, in, n);
      if (Arrays.equals(c, bg)) {
        chunks.remove(chunk);
      } else {
        chunks.put(chunk, c);
      }
      pos += n;
    }
    length[0] = Math.max(length[0], pos);
  }

  @Override
  protected void doWriteZeroes(long offset, long len) {
    for (long pos = offset; pos < offset + len; ) {
      int n = (int) Math.min(CHUNK - pos % CHUNK, offset + len - pos);
      doWrite(pos, ByteBuffer.allocate(n));
      pos += n;
    }
  }

  @Override
  protected void doFlush() {
  }

  @Override
  protected void doTruncate(long newSize) {
    synchronized (chunks) {
      truncateLocked(newSize);
    }
  }

  private void truncateLocked(long newSize) {
    length[0] = newSize;
    chunks.keySet().removeIf(c -> c * CHUNK >= newSize);
    byte[] last = chunks.get(newSize / CHUNK);
    if (last != null) {
      // Bytes cut off read as zeros if the file grows again.
      Arrays.fill(last, (int) (newSize % CHUNK), CHUNK, (byte) 0);
    }
  }
}
