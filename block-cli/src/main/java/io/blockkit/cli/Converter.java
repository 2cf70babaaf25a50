package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

/**
 * The copy loop of {@code convert}. The source's block status decides what is read: only runs it
 * calls data are read, in requests of up to {@link #CHUNK} bytes aligned to {@code CHUNK}; zero
 * runs cost nothing on a target known to read as zeros and one {@code writeZeroes} otherwise.
 * Inside data, aligned runs of zeros of at least {@code minSparse} bytes are not written (or are
 * zeroed cheaply), so the target stays sparse.
 *
 * <p>{@code inFlight} workers each own a direct buffer and read in parallel with positional I/O.
 * Writes are issued in offset order unless {@code outOfOrder} (qemu-img's {@code -W}).
 */
final class Converter {
  static final int CHUNK = 2 << 20;
  private static final int SECTOR = 512;

  /** What to do with one range. */
  private enum Kind { COPY, ZERO }

  private record Task(long seq, long offset, long length, Kind kind) {}

  /** A range that could not be read and was written as zeros. */
  record Salvaged(long offset, long length, String reason) {}

  private final BlockDevice src;
  private final BlockDevice dst;
  private final long size;
  private final long minSparse;
  private final boolean targetZero;
  private final boolean salvage;
  private final int inFlight;
  private final boolean outOfOrder;
  private final LongConsumer progress;
  private final BooleanSupplier cancelled;

  private final Object lock = new Object();
  private long scanPos;
  private long nextSeq;
  private Extent pending;
  private long nextWrite;
  private Throwable failure;
  private final List<Salvaged> salvaged = new ArrayList<>();

  /**
   * @param minSparse qemu-img's {@code -S}: 0 writes everything, else a multiple of 512
   * @param targetZero the target already reads as zeros (fresh, or {@code --target-is-zero})
   */
  Converter(BlockDevice src, BlockDevice dst, long minSparse, boolean targetZero,
      boolean salvage, int inFlight, boolean outOfOrder, LongConsumer progress,
      BooleanSupplier cancelled) throws IOException {
    this.src = src;
    this.dst = dst;
    this.size = src.size();
    this.minSparse = minSparse;
    this.targetZero = targetZero;
    this.salvage = salvage;
    this.inFlight = inFlight;
    this.outOfOrder = outOfOrder;
    this.progress = progress;
    this.cancelled = cancelled;
  }

  /** Copies everything, then flushes the target. */
  void run() throws IOException {
    if (inFlight <= 1) {
      work();
    } else {
      List<Thread> workers = new ArrayList<>();
      for (int i = 0; i < inFlight; i++) {
        Thread t = new Thread(this::work, "convert-" + i);
        t.setDaemon(true);
        workers.add(t);
        t.start();
      }
      boolean interrupted = false;
      for (Thread t : workers) {
        while (true) {
          try {
            t.join();
            break;
          } catch (InterruptedException e) {
            interrupted = true;
            fail(new InterruptedIOException("convert was interrupted"));
          }
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (lock) {
      if (failure == null && cancelled.getAsBoolean()) {
        failure = new InterruptedIOException("convert was interrupted");
      }
      if (failure instanceof IOException io) {
        throw io;
      } else if (failure instanceof RuntimeException re) {
        throw re;
      } else if (failure instanceof Error err) {
        throw err;
      }
    }
    dst.flush();
  }

  /** Unreadable ranges that became zeros (--salvage), merged and sorted. */
  List<Salvaged> salvaged() {
    synchronized (salvaged) {
      List<Salvaged> sorted = new ArrayList<>(salvaged);
      sorted.sort(Comparator.comparingLong(Salvaged::offset));
      List<Salvaged> merged = new ArrayList<>();
      for (Salvaged s : sorted) {
        Salvaged last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
        if (last != null && last.offset() + last.length() == s.offset()) {
          merged.set(merged.size() - 1,
              new Salvaged(last.offset(), last.length() + s.length(), last.reason()));
        } else {
          merged.add(s);
        }
      }
      return merged;
    }
  }

  private void work() {
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    try {
      Task t;
      while ((t = next()) != null) {
        if (t.kind == Kind.COPY) {
          buf.clear();
          read(t.offset, buf, 0, (int) t.length);
        }
        awaitTurn(t.seq);
        try {
          if (t.kind == Kind.COPY) {
            writeData(t, buf);
          } else {
            dst.writeZeroes(t.offset, t.length);
          }
        } finally {
          finishTurn(t.seq);
        }
        progress.accept(t.length);
      }
    } catch (Throwable e) {
      fail(e);
    }
  }

  private void fail(Throwable e) {
    synchronized (lock) {
      if (failure == null) {
        failure = e;
      }
      lock.notifyAll();
    }
  }

  private void checkRunning() throws IOException {
    if (failure != null) {
      throw new StopException();
    }
    if (cancelled.getAsBoolean()) {
      throw new InterruptedIOException("convert was interrupted");
    }
  }

  /** Thrown in a worker that stops because another failed; never reported. */
  private static final class StopException extends IOException {
    private static final long serialVersionUID = 1L;
  }

  /** The next range to write, in offset order; skips zero runs on a zero target. */
  private Task next() throws IOException {
    synchronized (lock) {
      while (true) {
        checkRunning();
        if (scanPos >= size) {
          return null;
        }
        long start = scanPos;
        Extent e = take(start, size - start);
        Kind kind = kindOf(e);
        long end = e.end();
        if (kind == Kind.COPY) {
          long limit = Math.min(size, (start / CHUNK + 1) * CHUNK);
          if (end > limit) {
            pending = e.slice(limit, end - limit);
            end = limit;
          }
          while (end < limit) {
            Extent n = take(end, size - end);
            if (kindOf(n) != Kind.COPY) {
              pending = n;
              break;
            }
            long nEnd = Math.min(n.end(), limit);
            if (n.end() > limit) {
              pending = n.slice(limit, n.end() - limit);
            }
            end = nEnd;
          }
        } else {
          while (end < size) {
            Extent n = take(end, size - end);
            if (kindOf(n) != Kind.ZERO) {
              pending = n;
              break;
            }
            end = n.end();
          }
        }
        scanPos = end;
        if (kind == Kind.ZERO && targetZero) {
          progress.accept(end - start);
          continue;
        }
        return new Task(nextSeq++, start, end - start, kind);
      }
    }
  }

  private Kind kindOf(Extent e) {
    if (minSparse == 0) {
      return Kind.COPY;
    }
    return e.zero() || !e.data() ? Kind.ZERO : Kind.COPY;
  }

  /** The source's status at {@code pos}, reusing the rest of the last answer. */
  private Extent take(long pos, long max) throws IOException {
    Extent e = pending;
    pending = null;
    if (e == null || e.offset() != pos) {
      try {
        e = src.blockStatus(pos, max);
      } catch (IOException ex) {
        if (!salvage) {
          throw ex;
        }
        // unknown status: read it, and let the reads decide what is salvaged
        long len = Math.min(max, CHUNK - pos % CHUNK);
        return new Extent(pos, len, true, false, true, -1, null);
      }
    }
    return e;
  }

  private void awaitTurn(long seq) throws IOException {
    if (outOfOrder) {
      return;
    }
    synchronized (lock) {
      while (nextWrite != seq) {
        checkRunning();
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("convert was interrupted");
        }
      }
      checkRunning();
    }
  }

  private void finishTurn(long seq) {
    if (outOfOrder) {
      return;
    }
    synchronized (lock) {
      nextWrite = seq + 1;
      lock.notifyAll();
    }
  }

  /** Writes a copied chunk, leaving out (or cheaply zeroing) aligned zero runs of minSparse+. */
  private void writeData(Task t, ByteBuffer buf) throws IOException {
    int len = (int) t.length;
    if (minSparse == 0) {
      dst.write(t.offset, buf.slice(0, len));
      return;
    }
    long runStart = t.offset;
    boolean runZero = false;
    long p = t.offset;
    long end = t.offset + len;
    while (p < end) {
      long gEnd = Math.min(end, (p / minSparse + 1) * minSparse);
      int from = (int) (p - t.offset);
      int n = (int) (gEnd - p);
      boolean zero = n == minSparse && ZeroScan.isZero(buf, from, n);
      if (p == runStart) {
        runZero = zero;
      } else if (zero != runZero) {
        flushRun(t, buf, runStart, p, runZero);
        runStart = p;
        runZero = zero;
      }
      p = gEnd;
    }
    flushRun(t, buf, runStart, end, runZero);
  }

  private void flushRun(Task t, ByteBuffer buf, long from, long to, boolean zero)
      throws IOException {
    if (to <= from) {
      return;
    }
    if (zero) {
      if (!targetZero) {
        dst.writeZeroes(from, to - from);
      }
    } else {
      dst.write(from, buf.slice((int) (from - t.offset), (int) (to - from)));
    }
  }

  /** Reads {@code len} bytes at {@code off} into {@code buf[pos..]}; with salvage, never fails. */
  private void read(long off, ByteBuffer buf, int pos, int len) throws IOException {
    try {
      src.read(off, buf.slice(pos, len));
    } catch (IOException e) {
      if (!salvage) {
        throw e;
      }
      salvageRead(off, buf, pos, len, e);
    }
  }

  private void salvageRead(long off, ByteBuffer buf, int pos, int len, IOException cause)
      throws IOException {
    if (cause instanceof DataUnavailableException d) {
      long a = Math.max(off, d.offset());
      long b = Math.min(off + len, d.offset() + d.length());
      if (a < b) {
        zero(buf, pos + (int) (a - off), (int) (b - a));
        record(a, b - a, cause);
        if (a > off) {
          read(off, buf, pos, (int) (a - off));
        }
        if (b < off + len) {
          read(b, buf, pos + (int) (b - off), (int) (off + len - b));
        }
        return;
      }
    }
    if (len <= SECTOR) {
      zero(buf, pos, len);
      record(off, len, cause);
      return;
    }
    int half = Math.max(SECTOR, len / 2 / SECTOR * SECTOR);
    read(off, buf, pos, half);
    read(off + half, buf, pos + half, len - half);
  }

  private void record(long off, long len, IOException cause) {
    synchronized (salvaged) {
      salvaged.add(new Salvaged(off, len, Errors.oneLine(cause)));
    }
  }

  private static final byte[] ZEROS = new byte[64 << 10];

  private static void zero(ByteBuffer buf, int pos, int len) {
    for (int done = 0; done < len; done += ZEROS.length) {
      buf.put(pos + done, ZEROS, 0, Math.min(ZEROS.length, len - done));
    }
  }
}
