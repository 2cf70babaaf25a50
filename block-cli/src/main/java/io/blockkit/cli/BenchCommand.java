package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.IoBuffers;
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
final class BenchCommand extends ImageCommand {
  /** Requests in flight are threads here (qemu: coroutines), hence a limit qemu-img lacks. */
  static final int MAX_DEPTH = 1024;

  @Option(names = {"-c", "--count"}, paramLabel = "COUNT", description = "Requests (default 75000).")
  String countText = "75000";

  @Option(names = {"-d", "--depth"}, paramLabel = "DEPTH",
      description = "Requests in flight, 1.." + MAX_DEPTH + " (default 64).")
  String depthText = "64";

  @Option(names = {"-s", "--size"}, paramLabel = "SIZE", description = "Bytes per request (default 4k).")
  String size = "4k";

  @Option(names = {"-S", "--step"}, paramLabel = "STEP",
      description = "Offset increment (default, and 0: SIZE).")
  String step;

  @Option(names = {"-w", "--write"}, description = "Write instead of read.")
  boolean write;

  @Option(names = {"-o", "--offset"}, paramLabel = "OFFSET", description = "First offset (default 0).")
  String offset = "0";

  @Option(names = "--pattern", paramLabel = "BYTE", description = "Byte written by -w, 0..255 "
      + "(default 0).")
  String patternText = "0";

  @Option(names = "--flush-interval", paramLabel = "N",
      description = "With -w: flush after every N requests (N at least DEPTH; 0: never).")
  String flushText;

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

  @Option(names = {"-U", "--force-share"}, description = Texts.FORCE_SHARE)
  boolean forceShare;

  @Parameters(paramLabel = "FILE", description = "The image.")
  String file;

  private long count;
  private int depth;
  private int pattern;
  private int flushInterval;
  private long nextOffset;
  private long issued;

  @Override
  public Integer call() throws Exception {
    // qemu-img's limits and messages; numbers are C's (0x hex, 0 octal) as qemu reads them
    count = (int) number(countText, Integer.MAX_VALUE, "Invalid request count specified");
    depth = (int) number(depthText, MAX_DEPTH, "Invalid queue depth specified");
    if (depth == 0) {
      throw new CliException(1, "Invalid queue depth specified"); // qemu-img waits forever
    }
    pattern = (int) number(patternText, 0xff, "Invalid pattern byte specified");
    flushInterval = flushText == null ? 0
        : (int) number(flushText, Integer.MAX_VALUE, "Invalid flush interval specified");
    long bufSize = Sizes.parse(size, "Invalid buffer size '" + size + "'");
    if (bufSize > Integer.MAX_VALUE) {
      throw new CliException(1, "Invalid buffer size specified. Must be between 0 and "
          + Integer.MAX_VALUE + ".");
    }
    long stepSize = step == null ? 0 : Sizes.parse(step, "Invalid step size '" + step + "'");
    if (stepSize == 0) {
      stepSize = bufSize; // qemu-img: 0 means "the request size"
    }
    long start = Sizes.parse(offset, "Invalid offset '" + offset + "'");
    if (cache != null && !IoModes.CACHE.contains(cache)) {
      throw new CliException(1, "Invalid cache mode");
    }
    IoModes.checkAio(aio);
    if (flushInterval != 0) {
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
      if (flushInterval != 0) {
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
    // every buffer before any request: without memory for them all the run fails, not shrinks
    List<ByteBuffer> buffers = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      ByteBuffer buf = IoBuffers.direct(bufSize); // page-aligned, as qemu-img bench's
      while (write && pattern != 0 && buf.hasRemaining()) {
        buf.put((byte) pattern);
      }
      buffers.add(buf);
    }
    List<Thread> workers = new ArrayList<>();
    for (ByteBuffer buf : buffers) {
      Thread t = new Thread(() -> {
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
              if (flushInterval != 0 && completed.incrementAndGet() % flushInterval == 0) {
                flush(dev, drain);
              }
            } else {
              dev.read(o, buf);
            }
          }
        } catch (Throwable e) { // an Error fails the run, too (not the JVM's stack trace)
          failure.compareAndSet(null, e);
        }
      }, "bench-" + workers.size());
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
    } else if (f instanceof Error err) {
      throw err;
    }
  }

  /**
   * A number as C's {@code strtoul} with base 0 reads it (qemu-img's parser): optional leading
   * blanks and {@code +}, then {@code 0x} hex, {@code 0} octal or decimal, nothing after.
   *
   * @throws CliException with {@code message} when it is not such a number or above {@code max}
   */
  static long number(String text, long max, String message) {
    String t = text.stripLeading();
    if (t.startsWith("+")) {
      t = t.substring(1);
    }
    int radix = 10;
    if (t.length() > 2 && (t.startsWith("0x") || t.startsWith("0X"))) {
      radix = 16;
      t = t.substring(2);
    } else if (t.length() > 1 && t.startsWith("0")) {
      radix = 8;
      t = t.substring(1);
    }
    try {
      if (t.isEmpty() || !Character.isLetterOrDigit(t.charAt(0))) {
        throw new NumberFormatException(text); // no second sign, no blank after the prefix
      }
      long v = Long.parseLong(t, radix);
      if (v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new CliException(1, message);
  }
}
