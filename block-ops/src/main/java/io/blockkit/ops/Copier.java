package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.IoBuffers;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The copy loop of convert and commit. A {@link Planner} says what each run of the source is:
 * data to copy, zeros, or a run to leave alone; data is read in requests of up to {@link #CHUNK}
 * bytes aligned to {@code CHUNK}; zero runs cost nothing on a target known to read as zeros and
 * one {@code writeZeroes} otherwise. Inside data, aligned runs of zeros of at least {@code
 * minSparse} bytes are not written (or are zeroed cheaply), so the target stays sparse.
 *
 * <p>{@code inFlight} workers each own a direct buffer and read in parallel with positional I/O.
 * Writes are issued in offset order unless {@code outOfOrder} (qemu-img's {@code -W}).
 *
 * <p>Where the source's bytes lie in a local file ({@link BlockDevice#hostFile}, or for a format
 * the file and offset its block status names for a run, {@link Run#host}), a chunk that follows
 * one made mostly of zeros is not read into the buffer but scanned (and written) from a read-only
 * memory-mapped view: zeros are then never copied at all. After a chunk made mostly of data the
 * next is read into the buffer again, because the writes are the part that cannot overlap (the
 * kernel serialises writes to one file) and a write from a buffer just read is faster than one
 * from a mapped view that nothing has read yet (2 GiB of random data: 0.86x the wall time). With
 * {@code offload} and a target in a local file too, the non-zero runs are copied by
 * the kernel ({@link FileChannel#transferTo}) and never pass through user space. A source file
 * that shrinks under the mapping fails the copy with an I/O error.
 */
final class Copier {
  static final int CHUNK = 2 << 20;
  private static final int SECTOR = 512;

  /** What to do with one run. */
  enum Kind {
    /** Read it and write it. */
    COPY,
    /** It reads as zeros: make the target read zeros there. */
    ZERO,
    /** The target already has the right content (its backing supplies it): do nothing. */
    SKIP
  }

  /**
   * A run of the source and what to do with it; for data, where a local file holds its bytes
   * ({@code host} at {@code hostOffset}, as block status reports), or null when unknown.
   */
  record Run(long offset, long length, Kind kind, FileChannel host, long hostOffset) {
    Run(long offset, long length, Kind kind) {
      this(offset, length, kind, null, -1);
    }

    long end() {
      return offset + length;
    }

    Run from(long pos) {
      return new Run(pos, end() - pos, kind, host, host == null ? -1 : hostOffset + pos - offset);
    }

    /** True when {@code next} starts where this run ends in the same host file. */
    boolean hostContinues(Run next) {
      return host != null && next.host == host && next.hostOffset == hostOffset + length;
    }
  }

  /** Says what the run at {@code pos} (at most {@code max} bytes, at least one) is. */
  interface Planner {
    Run at(long pos, long max) throws IOException;
  }

  /** A range to write; {@code host} is non-null when its bytes lie contiguously in that file. */
  private record Task(long seq, long offset, long length, Kind kind, FileChannel host,
      long hostOffset) {}

  private final BlockDevice src;
  private final BlockDevice dst;
  private final long size;
  private final Planner planner;
  private final long minSparse;
  private final boolean targetZero;
  private final boolean salvage;
  private final int inFlight;
  private final boolean outOfOrder;
  private final Tracker progress;
  private final Cancellation cancel;
  private final String what;
  /** The source's file, read through mapped views; null to read through the device. */
  private final FileChannel srcFile;
  /** The target's file for kernel copies (copy offload); null to write through the device. */
  private final FileChannel dstFile;

  /**
   * Whether the next chunk is read through a mapped view: the last chunk written was mostly zeros
   * (see the class comment). Only a hint, so a plain volatile.
   */
  private volatile boolean mapNext = true;

  private final Object lock = new Object();
  private long scanPos;
  private long nextSeq;
  private Run pending;
  private long nextWrite;
  private Throwable failure;
  private final List<ConvertResult.Salvaged> salvaged = new ArrayList<>();

  /**
   * @param size bytes of the source to walk
   * @param minSparse qemu-img's {@code -S}: 0 writes data runs as they are, else a multiple of 512
   * @param targetZero the target already reads as zeros (fresh, or {@code --target-is-zero})
   * @param what the operation, for the message when it is cancelled ("convert")
   */
  Copier(BlockDevice src, BlockDevice dst, long size, Planner planner, long minSparse,
      boolean targetZero, boolean salvage, int inFlight, boolean outOfOrder, boolean offload,
      Tracker progress, Cancellation cancel, String what) throws IOException {
    this.src = src;
    this.dst = dst;
    this.size = size;
    this.planner = planner;
    this.minSparse = minSparse;
    this.targetZero = targetZero;
    this.salvage = salvage;
    this.inFlight = inFlight;
    this.outOfOrder = outOfOrder;
    this.progress = progress;
    this.cancel = cancel;
    this.what = what;
    // a salvage reads sector by sector around errors: only through the device
    this.srcFile = salvage || src.backing().isPresent() ? null
        : src.hostFile().orElse(null);
    this.dstFile = offload && srcFile != null && dst.capabilities().contains(Capability.WRITE)
        ? dst.hostFile().orElse(null) : null;
  }

  /** Copies everything, then flushes the target. */
  void run() throws IOException {
    if (inFlight <= 1) {
      work();
    } else {
      List<Thread> workers = new ArrayList<>();
      for (int i = 0; i < inFlight; i++) {
        Thread t = new Thread(this::work, what + "-" + i);
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
            fail(new CancelledException(what + " was interrupted"));
          }
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (lock) {
      if (failure == null && cancel.isCancelled()) {
        failure = new CancelledException(what + " was interrupted");
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

  /** Unreadable ranges that became zeros (salvage), merged and sorted. */
  List<ConvertResult.Salvaged> salvaged() {
    synchronized (salvaged) {
      List<ConvertResult.Salvaged> sorted = new ArrayList<>(salvaged);
      sorted.sort(Comparator.comparingLong(ConvertResult.Salvaged::offset));
      List<ConvertResult.Salvaged> merged = new ArrayList<>();
      for (ConvertResult.Salvaged s : sorted) {
        ConvertResult.Salvaged last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
        if (last != null && last.offset() + last.length() == s.offset()) {
          merged.set(merged.size() - 1, new ConvertResult.Salvaged(last.offset(),
              last.length() + s.length(), last.cause()));
        } else {
          merged.add(s);
        }
      }
      return merged;
    }
  }

  private void work() {
    ByteBuffer own = null;
    try {
      Task t;
      while ((t = next()) != null) {
        ByteBuffer buf = null;
        if (t.kind == Kind.COPY) {
          buf = mapNext ? mapped(t) : null;
          if (buf == null) {
            own = own != null ? own : IoBuffers.direct(CHUNK);
            buf = own.clear();
            read(t.offset, buf, 0, (int) t.length);
          }
        }
        try {
          awaitTurn(t.seq);
          try {
            if (t.kind == Kind.COPY) {
              mapNext = writeData(t, buf) < t.length / 2;
            } else {
              dst.writeZeroes(t.offset, t.length);
            }
          } finally {
            finishTurn(t.seq);
          }
        } catch (InternalError e) {
          // the JDK's report of a fault in a mapped view: the file shrank under it
          throw new IOException("'" + src.location() + "' shrank while it was copied", e);
        } finally {
          if (buf != own) {
            MappedViews.unmap(buf);
          }
        }
        progress.add(t.length);
      }
    } catch (Throwable e) {
      fail(e);
    }
  }

  /**
   * A read-only mapped view of the task's source bytes, or null to read them into a buffer: the
   * source's own file at the same offsets, else the file block status says holds them.
   */
  private ByteBuffer mapped(Task t) throws IOException {
    if (srcFile != null) {
      return t.offset + t.length > srcFile.size() ? null
          : srcFile.map(FileChannel.MapMode.READ_ONLY, t.offset, t.length);
    }
    if (salvage || t.host == null || t.hostOffset + t.length > t.host.size()) {
      return null;
    }
    return t.host.map(FileChannel.MapMode.READ_ONLY, t.hostOffset, t.length);
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
    cancel.check(what + " was interrupted");
  }

  /** Thrown in a worker that stops because another failed; never reported. */
  private static final class StopException extends IOException {
    private static final long serialVersionUID = 1L;
  }

  /** The next range to write, in offset order; skips what needs no write. */
  private Task next() throws IOException {
    synchronized (lock) {
      while (true) {
        checkRunning();
        if (scanPos >= size) {
          return null;
        }
        long start = scanPos;
        Run r = take(start);
        Kind kind = r.kind();
        long end = r.end();
        boolean hosted = r.host() != null;
        if (kind == Kind.COPY) {
          long limit = Math.min(size, (start / CHUNK + 1) * CHUNK);
          if (end > limit) {
            pending = r.from(limit);
            end = limit;
          }
          Run last = r;
          while (end < limit) {
            Run n = take(end);
            if (n.kind() != Kind.COPY) {
              pending = n;
              break;
            }
            hosted &= last.hostContinues(n);
            last = n;
            if (n.end() > limit) {
              pending = n.from(limit);
            }
            end = Math.min(n.end(), limit);
          }
        } else {
          while (end < size) {
            Run n = take(end);
            if (n.kind() != kind) {
              pending = n;
              break;
            }
            end = n.end();
          }
        }
        scanPos = end;
        if (kind == Kind.SKIP || kind == Kind.ZERO && targetZero) {
          progress.add(end - start);
          continue;
        }
        return new Task(nextSeq++, start, end - start, kind, hosted ? r.host() : null,
            hosted ? r.hostOffset() : -1);
      }
    }
  }

  /** The run at {@code pos}, reusing the rest of the last answer. */
  private Run take(long pos) throws IOException {
    Run r = pending;
    pending = null;
    if (r == null || r.offset() != pos) {
      r = planner.at(pos, size - pos);
      if (r.offset() != pos || r.length() <= 0 || r.end() > size) {
        throw new IllegalStateException("planner answered " + r + " for " + pos);
      }
    }
    return r;
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
          throw new CancelledException(what + " was interrupted");
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

  /**
   * Writes a copied chunk, leaving out (or cheaply zeroing) aligned zero runs of minSparse+.
   *
   * @return the bytes written as data, not as zeros
   */
  private long writeData(Task t, ByteBuffer buf) throws IOException {
    int len = (int) t.length;
    if (minSparse == 0) {
      flushRun(t, buf, t.offset, t.offset + len, false);
      return len;
    }
    long data = 0;
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
        data += runZero ? 0 : p - runStart;
        runStart = p;
        runZero = zero;
      }
      p = gEnd;
    }
    flushRun(t, buf, runStart, end, runZero);
    return runZero ? data : data + end - runStart;
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
    } else if (dstFile != null) {
      kernelCopy(from, to - from);
    } else {
      dst.write(from, buf.slice((int) (from - t.offset), (int) (to - from)));
    }
  }

  /** Copies {@code [from, from+len)} file to file inside the kernel (the target's position is shared). */
  private void kernelCopy(long from, long len) throws IOException {
    synchronized (dstFile) {
      long done = 0;
      while (done < len) {
        dstFile.position(from + done);
        long n = srcFile.transferTo(from + done, len - done, dstFile);
        if (n <= 0) {
          throw new IOException("'" + src.location() + "' ended at " + (from + done)
              + " while it was copied");
        }
        done += n;
      }
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
        ZeroScan.zero(buf, pos + (int) (a - off), (int) (b - a));
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
      ZeroScan.zero(buf, pos, len);
      record(off, len, cause);
      return;
    }
    int half = Math.max(SECTOR, len / 2 / SECTOR * SECTOR);
    read(off, buf, pos, half);
    read(off + half, buf, pos + half, len - half);
  }

  private void record(long off, long len, IOException cause) {
    synchronized (salvaged) {
      salvaged.add(new ConvertResult.Salvaged(off, len, cause));
    }
  }
}
