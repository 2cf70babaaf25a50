package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
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

  @Option(names = {"-p", "--progress"}, description = "Accepted for compatibility; prints nothing.")
  boolean progress;

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
    BlockDevice a = open(file1, format1);
    try (a; BlockDevice b = open(file2, format2)) {
      int r = compare(a, b);
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

  private int compare(BlockDevice a, BlockDevice b) throws IOException {
    long size1 = a.size();
    long size2 = b.size();
    if (size1 != size2 && strict) {
      say("Strict mode: Image size mismatch!");
      return 1;
    }
    buf1 = ByteBuffer.allocateDirect(CHUNK);
    buf2 = ByteBuffer.allocateDirect(CHUNK);
    long common = Math.min(size1, size2);
    long pos = 0;
    while (pos < common) {
      Extent s1 = status(a, file1, pos, common - pos);
      Extent s2 = status(b, file2, pos, common - pos);
      long chunk = Math.min(s1.length(), s2.length());
      if (strict && (s1.zero() != s2.zero() || s1.data() != s2.data()
          || s1.allocated() != s2.allocated())) {
        say("Strict mode: Offset " + pos + " block status mismatch!");
        return 1;
      }
      if (s1.zero() && s2.zero()) {
        pos += chunk;
        continue;
      }
      chunk = Math.min(chunk, CHUNK);
      if (s1.allocated() == s2.allocated() && !s1.zero() && !s2.zero()) {
        read(a, file1, pos, chunk, buf1);
        read(b, file2, pos, chunk, buf2);
        long diff = buf1.mismatch(buf2);
        if (diff >= 0) {
          // qemu compares 512-byte sectors and names the first differing sector
          say("Content mismatch at offset " + (pos + diff / 512 * 512) + "!");
          return 1;
        }
      } else if (!s1.zero()) {
        if (nonZero(a, file1, pos, chunk)) {
          return 1;
        }
      } else if (nonZero(b, file2, pos, chunk)) {
        return 1;
      }
      pos += chunk;
    }
    if (size1 != size2) {
      say("Warning: Image size mismatch!");
      BlockDevice over = size1 > size2 ? a : b;
      String name = size1 > size2 ? file1 : file2;
      long total = Math.max(size1, size2);
      while (pos < total) {
        Extent s = status(over, name, pos, total - pos);
        long chunk = s.length();
        if (!s.zero()) {
          chunk = Math.min(chunk, CHUNK);
          if (nonZero(over, name, pos, chunk)) {
            return 1;
          }
        }
        pos += chunk;
      }
    }
    say("Images are identical.");
    return 0;
  }

  private Extent status(BlockDevice d, String name, long pos, long len) {
    try {
      return d.blockStatus(pos, len);
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
      say("Content mismatch at offset " + (pos + idx) + "!");
      return true;
    }
    return false;
  }
}
