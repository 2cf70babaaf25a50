package io.blockkit.nbd;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.nbd.ClientHandshake.Offer;
import io.blockkit.nbd.protocol.Nbd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An NBD export opened as a block device. Reads and writes larger than the server's maximum are
 * split and pipelined; requests not aligned to the server's minimum block size are widened
 * (reads) or read-modify-written (writes, excluding aligned writes meanwhile). Block status comes
 * from {@code base:allocation}; one reply's extents answer the following calls until this
 * device next writes.
 */
final class NbdDevice extends AbstractBlockDevice {
  /** Pieces of one large read or write in flight at once. */
  private static final int WINDOW = 8;
  /** The largest TRIM or WRITE_ZEROES sent (payload-free, but the length is a u32). */
  private static final long MAX_EFFECT = 1L << 30;

  private final NbdConnection conn;
  private final Offer offer;
  private final Set<Capability> capabilities;
  private final int min;
  /** Unaligned writes take the write lock, aligned ones the read lock. */
  private final ReentrantReadWriteLock rmw = new ReentrantReadWriteLock();
  private final AtomicLong writes = new AtomicLong();
  private volatile StatusRun cached;

  NbdDevice(BlockDriver driver, String location, boolean readOnly, NbdConnection conn) {
    super(driver, location, readOnly, null);
    this.conn = conn;
    this.offer = conn.offer;
    this.min = offer.minBlock();
    EnumSet<Capability> c = EnumSet.noneOf(Capability.class);
    if (!readOnly) {
      c.add(Capability.WRITE);
      if (offer.has(Nbd.FLAG_SEND_TRIM)) {
        c.add(Capability.DISCARD);
      }
      if (offer.has(Nbd.FLAG_SEND_WRITE_ZEROES)) {
        c.add(Capability.WRITE_ZEROES);
      }
      if (offer.has(Nbd.FLAG_SEND_FLUSH)) {
        c.add(Capability.FLUSH);
      }
    }
    if (offer.statusContext() >= 0) {
      c.add(Capability.BLOCK_STATUS);
    }
    this.capabilities = Set.copyOf(c);
  }

  @Override
  public long size() throws IOException {
    ensureOpen();
    return offer.size();
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  // ------------------------------------------------------------------ reads

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    if (aligned(offset, dst.remaining())) {
      transfer(Nbd.CMD_READ, offset, dst);
      return;
    }
    long start = offset - offset % min;
    long end = Math.min(roundUp(offset + dst.remaining()), offer.size());
    ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
    transfer(Nbd.CMD_READ, start, whole);
    whole.position((int) (offset - start)).limit((int) (offset - start) + dst.remaining());
    dst.put(whole);
  }

  /**
   * Reads into or writes from {@code buf} in pieces of at most the server's maximum, a window
   * of them in flight. On a failure the pieces already sent are waited for (their data may
   * still be landing in {@code buf}) before the first failure is thrown.
   */
  private void transfer(int type, long offset, ByteBuffer buf) throws IOException {
    ArrayDeque<Pending> window = new ArrayDeque<>();
    long pos = offset;
    IOException failure = null;
    while (failure == null && (buf.hasRemaining() || !window.isEmpty())) {
      while (buf.hasRemaining() && window.size() < WINDOW) {
        int n = Math.min(buf.remaining(), offer.maxPayload());
        ByteBuffer piece = buf.slice().limit(n);
        try {
          window.add(type == Nbd.CMD_READ ? conn.submit(type, 0, pos, n, null, piece)
              : conn.submit(type, 0, pos, n, piece, null));
        } catch (IOException e) {
          failure = e;
          break;
        }
        buf.position(buf.position() + n);
        pos += n;
      }
      if (window.isEmpty()) {
        break;
      }
      try {
        conn.await(window.poll());
      } catch (IOException e) {
        failure = e;
      }
    }
    for (Pending p : window) {
      try {
        conn.await(p);
      } catch (IOException e) {
        // the first failure is the one reported
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  // ------------------------------------------------------------------ writes

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    writes.incrementAndGet();
    if (aligned(offset, src.remaining())) {
      Lock l = min > 1 ? rmw.readLock() : null;
      lock(l);
      try {
        transfer(Nbd.CMD_WRITE, offset, src);
      } finally {
        unlock(l);
      }
      return;
    }
    rmw.writeLock().lock();
    try {
      long start = offset - offset % min;
      long end = Math.min(roundUp(offset + src.remaining()), offer.size());
      ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
      transfer(Nbd.CMD_READ, start, whole);
      whole.position((int) (offset - start));
      whole.put(src);
      whole.clear();
      transfer(Nbd.CMD_WRITE, start, whole);
    } finally {
      rmw.writeLock().unlock();
    }
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    if (!offer.has(Nbd.FLAG_SEND_WRITE_ZEROES)) {
      super.doWriteZeroes(offset, length); // zeros written through doWrite
      return;
    }
    writes.incrementAndGet();
    long end = offset + length;
    long innerStart = Math.min(roundUp(offset), end);
    long innerEnd = Math.max(end - end % min, innerStart);
    if (innerStart > offset) {
      doWrite(offset, ByteBuffer.allocate((int) (innerStart - offset)));
    }
    effect(Nbd.CMD_WRITE_ZEROES, innerStart, innerEnd);
    if (end > innerEnd) {
      doWrite(innerEnd, ByteBuffer.allocate((int) (end - innerEnd)));
    }
  }

  /** TRIM of the aligned part: a hint, so partial blocks are left alone. */
  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    if (!offer.has(Nbd.FLAG_SEND_TRIM)) {
      return;
    }
    writes.incrementAndGet();
    long end = offset + length;
    long innerStart = roundUp(offset);
    long innerEnd = end - end % min;
    if (innerEnd > innerStart) {
      effect(Nbd.CMD_TRIM, innerStart, innerEnd);
    }
  }

  /** A payload-free command over an aligned range, in pieces of at most 1 GiB. */
  private void effect(int type, long start, long end) throws IOException {
    Lock l = min > 1 ? rmw.readLock() : null;
    lock(l);
    try {
      for (long pos = start; pos < end; pos += MAX_EFFECT) {
        conn.call(type, 0, pos, Math.min(MAX_EFFECT, end - pos), null, null);
      }
    } finally {
      unlock(l);
    }
  }

  @Override
  protected void doFlush() throws IOException {
    if (offer.has(Nbd.FLAG_SEND_FLUSH)) {
      conn.call(Nbd.CMD_FLUSH, 0, 0, 0, null, null);
    }
  }

  // ------------------------------------------------------------------ block status

  /** One base:allocation reply: its extents from {@code offset}, valid until the next write. */
  private record StatusRun(long offset, long[] lengths, int[] flags, int count, long writes) {}

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    if (offer.statusContext() < 0) {
      return super.doBlockStatus(offset, length);
    }
    StatusRun run = cached;
    if (run == null || run.writes != writes.get() || !answer(run, offset)) {
      run = query(offset, length);
      cached = run;
    }
    return extentAt(run, offset, length);
  }

  private StatusRun query(long offset, long length) throws IOException {
    long generation = writes.get();
    long start = offset - offset % min;
    long len = Math.min(offset + length - start, 0x1_0000_0000L - min);
    Pending p = conn.call(Nbd.CMD_BLOCK_STATUS, 0, start, len, null, null);
    if (p.extents == 0) {
      // no chunk for our context: the server broke the protocol; "data" is always safe
      return new StatusRun(start, new long[] {len}, new int[] {0}, 1, generation);
    }
    return new StatusRun(start, p.extentLengths, p.extentFlags, p.extents, generation);
  }

  private static boolean answer(StatusRun run, long offset) {
    long end = run.offset;
    for (int i = 0; i < run.count; i++) {
      end += run.lengths[i];
    }
    return offset >= run.offset && offset < end;
  }

  /** The run of equal status starting at {@code offset} within the reply, at most {@code length}. */
  private Extent extentAt(StatusRun run, long offset, long length) {
    long pos = run.offset;
    int i = 0;
    while (i < run.count && pos + run.lengths[i] <= offset) {
      pos += run.lengths[i];
      i++;
    }
    if (i == run.count) {
      // the server answered less than asked: trust what it said for the start
      return new Extent(offset, length, true, false, true, -1, null);
    }
    int flags = run.flags[i];
    long end = pos + run.lengths[i];
    for (int j = i + 1; j < run.count && run.flags[j] == flags; j++) {
      end += run.lengths[j];
    }
    long len = Math.min(end - offset, length);
    boolean data = (flags & Nbd.STATE_HOLE) == 0;
    boolean zero = (flags & Nbd.STATE_ZERO) != 0;
    return new Extent(offset, len, data, zero, true, data ? offset : -1, data ? this : null);
  }

  @Override
  protected void doClose() {
    conn.close();
  }

  // ------------------------------------------------------------------ alignment

  private boolean aligned(long offset, long length) {
    return min == 1 || (offset % min == 0 && (length % min == 0 || offset + length == offer.size()));
  }

  private long roundUp(long v) {
    return (v + min - 1) / min * min;
  }

  private static void lock(Lock l) {
    if (l != null) {
      l.lock();
    }
  }

  private static void unlock(Lock l) {
    if (l != null) {
      l.unlock();
    }
  }
}
