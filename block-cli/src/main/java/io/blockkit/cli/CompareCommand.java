package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code compare}: qemu-img compare. Exit 0 identical, 1 different, 2 could not open, 3 could not
 * get allocation status, 4 could not read.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
    description = "Compare the guest-visible contents of two images.",
    footer = {"", "Exit codes: 0 identical, 1 different, 2 open error, 3 allocation-status "
        + "error, 4 read error."})
final class CompareCommand extends BaseCommand {
  static final int CHUNK = 2 << 20;

  @Option(names = {"-f"}, paramLabel = "FMT", description = "Format of the first image.")
  String format1;

  @Option(names = {"-F"}, paramLabel = "FMT", description = "Format of the second image.")
  String format2;

  @Option(names = {"-s", "--strict"}, description = "Differing sizes or allocation also count as a difference.")
  boolean strict;

  @Option(names = {"-q", "--quiet"}, description = "Print nothing; only the exit code tells.")
  boolean quiet;

  @Option(names = {"-p", "--progress"}, description = "Show progress (a bar on a terminal, lines otherwise).")
  boolean progress;

  @Option(names = "-T", paramLabel = "CACHE", description = "Source cache mode (accepted for "
      + "qemu-img compatibility; blockkit always reads through the page cache).")
  String sourceCache;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;

  @Option(names = {"-U", "--force-share"}, description = "Open even if another process holds the image's lock.")
  boolean forceShare;

  @Parameters(index = "0", paramLabel = "FILE1")
  String file1;

  @Parameters(index = "1", paramLabel = "FILE2")
  String file2;

  private ByteBuffer buf1;
  private ByteBuffer buf2;

  @Override
  public Integer call() throws Exception {
    IoModes.checkCache(sourceCache, "source cache");
    BlockDevice a = open(file1, format1);
    try (a; BlockDevice b = open(file2, format2)) {
      Progress p = new Progress(env.out, progress && !quiet
          ? (env.terminal ? Progress.Mode.BAR : Progress.Mode.LINES) : Progress.Mode.NONE,
          Math.max(a.size(), b.size()));
      p.start();
      int r = compare(a, b, p);
      p.finish(r == 0);
      env.out.flush();
      return r;
    }
  }

  private BlockDevice open(String f, String fmt) {
    try {
      return env.open(f, imageOpts, fmt, true, forceShare);
    } catch (IOException | RuntimeException e) {
      throw new CliException(2, Errors.oneLine(e), e);
    }
  }

  private void say(String line) {
    if (!quiet) {
      env.out.println(line);
    }
  }

  /**
   * qemu's algorithm: walk both images by block status; runs both call zero are equal without
   * reading; runs one side calls zero must read as zeros on the other; the rest is read and
   * compared. Mismatches are reported at 512-byte sector granularity, as qemu does.
   */
  private int compare(BlockDevice a, BlockDevice b, Progress p) throws IOException {
    long size1 = a.size();
    long size2 = b.size();
    if (size1 != size2 && strict) {
      say("Strict mode: Image size mismatch!");
      return 1;
    }
    buf1 = ByteBuffer.allocateDirect(CHUNK);
    buf2 = ByteBuffer.allocateDirect(CHUNK);
    boolean host1 = asksHost(a);
    boolean host2 = asksHost(b);
    long common = Math.min(size1, size2);
    long pos = 0;
    while (pos < common) {
      MapCommand.Run s1 = status(a, file1, pos, common - pos, host1);
      MapCommand.Run s2 = status(b, file2, pos, common - pos, host2);
      long chunk = Math.min(s1.length(), s2.length());
      if (strict && !sameStatus(s1, s2)) {
        say("Strict mode: Offset " + pos + " block status mismatch!");
        return 1;
      }
      if (!(s1.zero() && s2.zero())) {
        chunk = Math.min(chunk, CHUNK);
        if (!s1.zero() && !s2.zero()) {
          read(a, file1, pos, chunk, buf1);
          read(b, file2, pos, chunk, buf2);
          long diff = buf1.mismatch(buf2);
          if (diff >= 0) {
            say("Content mismatch at offset " + sector(pos, diff) + "!");
            return 1;
          }
        } else if (s1.zero() ? nonZero(b, file2, pos, chunk) : nonZero(a, file1, pos, chunk)) {
          return 1;
        }
      }
      pos += chunk;
      p.accept(chunk);
    }
    if (size1 != size2) {
      say("Warning: Image size mismatch!");
      BlockDevice over = size1 > size2 ? a : b;
      String name = size1 > size2 ? file1 : file2;
      boolean host = size1 > size2 ? host1 : host2;
      long total = Math.max(size1, size2);
      while (pos < total) {
        MapCommand.Run s = status(over, name, pos, total - pos, host);
        long chunk = s.length();
        if (!s.zero()) {
          chunk = Math.min(chunk, CHUNK);
          if (nonZero(over, name, pos, chunk)) {
            return 1;
          }
        }
        pos += chunk;
        p.accept(chunk);
      }
    }
    say("Images are identical.");
    return 0;
  }

  /** qemu's strict test compares the whole status: allocation, zero, data and offset validity. */
  private static boolean sameStatus(MapCommand.Run x, MapCommand.Run y) {
    return x.present() == y.present() && x.zero() == y.zero() && x.data() == y.data()
        && (x.offset() >= 0) == (y.offset() >= 0);
  }

  /** The start of the 512-byte sector holding byte {@code index} of the run at {@code pos}. */
  private static long sector(long pos, long index) {
    return pos + index / 512 * 512;
  }

  private boolean asksHost(BlockDevice d) {
    try {
      return MapCommand.asksHost(d);
    } catch (IOException | RuntimeException e) {
      return false; // no format-specific info: use the format's own status
    }
  }

  private MapCommand.Run status(BlockDevice d, String name, long pos, long len, boolean host) {
    try {
      return MapCommand.status(d, name, pos, len, host);
    } catch (IOException | RuntimeException e) {
      throw new CliException(3, "Sector allocation test failed for " + name + ": "
          + Errors.oneLine(e), e);
    }
  }

  private void read(BlockDevice d, String name, long pos, long len, ByteBuffer buf) {
    buf.clear().limit((int) len);
    try {
      d.read(pos, buf);
    } catch (IOException | RuntimeException e) {
      throw new CliException(4, "Error while reading offset " + pos + " of " + name + ": "
          + Errors.oneLine(e), e);
    }
    buf.flip();
  }

  /** Reads a run only one side stores; true (after saying so) if it is not all zeros. */
  private boolean nonZero(BlockDevice d, String name, long pos, long len) {
    read(d, name, pos, len, buf1);
    int idx = ZeroScan.firstNonZero(buf1, 0, (int) len);
    if (idx >= 0) {
      say("Content mismatch at offset " + sector(pos, idx) + "!");
      return true;
    }
    return false;
  }
}
