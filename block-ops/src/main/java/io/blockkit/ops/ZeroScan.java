package io.blockkit.ops;

import java.nio.ByteBuffer;

/** Zero detection over buffers (the JDK's vectorised {@link ByteBuffer#mismatch}), and zero filling. */
final class ZeroScan {
  private static final int ZEROS_SIZE = 64 << 10;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZEROS_SIZE).asReadOnlyBuffer();

  private ZeroScan() {}

  /** Index (relative to {@code from}) of the first non-zero byte in {@code buf[from, from+len)}, or -1. */
  static int firstNonZero(ByteBuffer buf, int from, int len) {
    int done = 0;
    while (done < len) {
      int n = Math.min(ZEROS_SIZE, len - done);
      int m = buf.slice(from + done, n).mismatch(ZEROS.slice(0, n));
      if (m >= 0) {
        return done + m;
      }
      done += n;
    }
    return -1;
  }

  static boolean isZero(ByteBuffer buf, int from, int len) {
    return firstNonZero(buf, from, len) < 0;
  }

  private static final byte[] ZERO_BYTES = new byte[ZEROS_SIZE];

  /** Fills {@code buf[pos, pos+len)} with zeros. */
  static void zero(ByteBuffer buf, int pos, int len) {
    for (int done = 0; done < len; done += ZERO_BYTES.length) {
      buf.put(pos + done, ZERO_BYTES, 0, Math.min(ZERO_BYTES.length, len - done));
    }
  }
}
