package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.options.Sizes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bench}: qemu-img bench's workload. COUNT requests of SIZE bytes, DEPTH in flight, each
 * starting STEP bytes after the previous one and wrapping before the end of the image.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Run a simple I/O benchmark on an image.")
final class BenchCommand extends BaseCommand {
  @Option(names = {"-c", "--count"}, paramLabel = "COUNT", description = "Requests (default 75000).")
  long count = 75000;

  @Option(names = {"-d", "--depth"}, paramLabel = "DEPTH", description = "Requests in flight (default 64).")
  int depth = 64;

  @Option(names = {"-s", "--size"}, paramLabel = "SIZE", description = "Bytes per request (default 4k).")
  String size = "4k";

  @Option(names = {"-S", "--step"}, paramLabel = "STEP", description = "Offset increment (default SIZE).")
  String step;

  @Option(names = {"-w", "--write"}, description = "Write instead of read.")
  boolean write;

  @Option(names = {"-f", "--format"}, paramLabel = "FMT", description = "Image format (probed if absent).")
  String format;

  @Option(names = {"-o", "--offset"}, paramLabel = "OFFSET", description = "First offset (default 0).")
  String offset = "0";

  @Option(names = "--pattern", paramLabel = "BYTE", description = "Byte written by -w (default 0).")
  int pattern;

  @Option(names = "--flush-interval", paramLabel = "N",
      description = "With -w: flush after every N requests (N at least DEPTH).")
  Integer flushInterval;

  @Option(names = "--no-drain", description = "Flush without waiting for the requests in flight.")
  boolean noDrain;

  @Option(names = "-t", paramLabel = "CACHE", description = "Cache mode (accepted for qemu-img "
      + "compatibility; blockkit always uses the page cache).")
  String cache;

  @Option(names = "-i", paramLabel = "AIO", description = "AIO mode threads|native|io_uring "
      + "(accepted for qemu-img compatibility; blockkit always uses threads).")
  String aio;

  @Option(names = "-n", description = "Native AIO, as -i native (accepted, see -i).")
  boolean nativeAio;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Option(names = {"-U", "--force-share"}, description = "Open even if another process holds the image's lock.")
  boolean forceShare;

  @Parameters(paramLabel = "FILE", description = "The image.")
  String file;

  private long nextOffset;
  private long issued;

  @Override
  public Integer call() throws Exception {
    long bufSize = Sizes.parse(size, "Invalid buffer size '" + size + "'");
    if (bufSize <= 0 || bufSize > Integer.MAX_VALUE - 8) {
      throw new CliException(1, "Invalid buffer size specified: " + size);
    }
    long stepSize = step == null ? bufSize : Sizes.parse(step, "Invalid step size '" + step + "'");
    long start = Sizes.parse(offset, "Invalid offset '" + offset + "'");
    if (count < 0) {
      throw new CliException(1, "Invalid request count specified: " + count);
    }
    if (depth < 1 || depth > 1024) {
      throw new CliException(1, "Invalid queue depth specified: " + depth);
    }
    if (cache != null && !IoModes.CACHE.contains(cache)) {
      throw new CliException(1, "Invalid cache mode");
    }
    IoModes.checkAio(aio);
    if (flushInterval != null) {
      if (!write) {
        throw new CliException(1, "--flush-interval is only available in write tests");
      }
      if (flushInterval < depth) {
        throw new CliException(1, "Flush interval can't be smaller than depth");
      }
    }
    if (write && forceShare) {
      throw new CliException(1, "--force-share/-U is incompatible with -w");
    }
    try (BlockDevice dev = env.open(file, imageOpts, format, !write, forceShare)) {
      long imageSize = dev.size();
      if (bufSize > imageSize) {
        throw new CliException(1, "Request size " + bufSize + " is larger than image '" + file
            + "' of " + imageSize + " bytes");
      }
      nextOffset = start;
      env.out.printf(Locale.ROOT, "Sending %d %s requests, %d bytes each, %d in parallel "
          + "(starting at offset %d, step size %d)%n", count, write ? "write" : "read", bufSize,
          depth, start, stepSize);
      if (flushInterval != null) {
        env.out.printf(Locale.ROOT, "Sending flush every %d requests%n", flushInterval);
      }
      env.out.flush();
      long t0 = System.nanoTime();
      run(dev, (int) bufSize, stepSize, imageSize);
      if (write) {
        dev.flush();
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      env.out.printf(Locale.ROOT, "Run completed in %3.3f seconds.%n", secs);
      env.out.printf(Locale.ROOT, "%.0f IOPS, %s/s%n", count / Math.max(secs, 1e-9),
          Sizes.toHuman((long) (count * bufSize / Math.max(secs, 1e-9))));
    }
    return 0;
  }

  /** Offsets in qemu's order: advance by the step, wrap modulo (image size - request size). */
  private synchronized long next(long bufSize, long stepSize, long imageSize) {
    if (issued >= count) {
      return -1;
    }
    issued++;
    long o = nextOffset;
    nextOffset += stepSize;
    nextOffset = imageSize <= bufSize ? 0 : nextOffset % (imageSize - bufSize);
    return o;
  }

  /** qemu's flush: after the writes in flight complete, unless --no-drain. */
  private void flush(BlockDevice dev, ReadWriteLock drain) throws IOException {
    if (noDrain) {
      dev.flush();
      return;
    }
    drain.writeLock().lock();
    try {
      dev.flush();
    } finally {
      drain.writeLock().unlock();
    }
  }

  private void run(BlockDevice dev, int bufSize, long stepSize, long imageSize)
      throws IOException, InterruptedException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicLong completed = new AtomicLong();
    // Writes share the lock; a draining flush takes it alone, so it waits for the writes in flight
    ReadWriteLock drain = new ReentrantReadWriteLock();
    int threads = (int) Math.min(depth, Math.max(1, count));
    List<Thread> workers = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(() -> {
        ByteBuffer buf = ByteBuffer.allocateDirect(bufSize);
        if (write && pattern != 0) {
          while (buf.hasRemaining()) {
            buf.put((byte) pattern);
          }
        }
        try {
          long o;
          while (failure.get() == null && (o = next(bufSize, stepSize, imageSize)) >= 0) {
            buf.clear();
            if (write) {
              drain.readLock().lock();
              try {
                dev.write(o, buf);
              } finally {
                drain.readLock().unlock();
              }
              if (flushInterval != null && completed.incrementAndGet() % flushInterval == 0) {
                flush(dev, drain);
              }
            } else {
              dev.read(o, buf);
            }
          }
        } catch (IOException | RuntimeException e) {
          failure.compareAndSet(null, e);
        }
      }, "bench-" + i);
      t.setDaemon(true);
      workers.add(t);
      t.start();
    }
    for (Thread t : workers) {
      t.join();
    }
    Throwable f = failure.get();
    if (f instanceof IOException io) {
      throw io;
    } else if (f instanceof RuntimeException re) {
      throw re;
    }
  }
}
