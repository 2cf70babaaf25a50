package io.blockkit.verify;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/** Shared helpers of the verification suites: the registry, fresh names, whole-image I/O. */
public final class Images {
  private static final AtomicLong NAMES = new AtomicLong();
  private static BlockRegistry registry;

  private Images() {}

  /** Every driver on the test classpath (built-in, blkdebug, the toy plugin). */
  public static synchronized BlockRegistry registry() throws IOException {
    if (registry == null) {
      registry = BlockRegistry.load();
    }
    return registry;
  }

  /** A memory location no other test uses: {@code memory:<prefix>-<n>}. */
  public static String memoryName(String prefix) {
    return "memory:" + prefix + "-" + NAMES.incrementAndGet() + "-" + System.nanoTime();
  }

  /**
   * Where a new image goes: a fresh temporary file in {@code dir}, or a fresh memory location when
   * {@code dir} is null.
   */
  public static String newLocation(Path dir, String prefix, String suffix) throws IOException {
    return dir != null ? Files.createTempFile(dir, prefix, suffix).toString() : memoryName(prefix);
  }

  /** Removes what {@link #newLocation} made; a location already gone is fine. */
  public static void delete(String location) throws IOException {
    if (location.startsWith(MemoryDriver.NAME + ":")) {
      String name = location.substring(MemoryDriver.NAME.length() + 1);
      if (MemoryDriver.exists(name)) {
        registry().driver(MemoryDriver.NAME).delete(name);
      }
    } else {
      Files.deleteIfExists(Path.of(location));
    }
  }

  /** Open parameters with warnings discarded. */
  public static OpenParams quiet(String format) {
    return OpenParams.defaults().withFormat(format).withWarnings(w -> { });
  }

  /** Creates an image of {@code format} with {@code options} at {@code location}. */
  public static void create(String location, String format, Map<String, String> options)
      throws IOException {
    registry().create(location, format, options);
  }

  public static BlockDevice open(String location, String format, boolean readOnly)
      throws IOException {
    return registry().open(location, quiet(format).withReadOnly(readOnly));
  }

  public static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    if (b.hasRemaining()) {
      throw new AssertionError("short read");
    }
    return b.array();
  }

  public static byte[] readAll(BlockDevice d) throws IOException {
    return read(d, 0, Math.toIntExact(d.size()));
  }

  /**
   * The whole device as a salvaging reader (convert --salvage) gets it: zeros where a read fails
   * with a DataUnavailableException, whose range says which bytes could not be read.
   */
  public static byte[] salvage(BlockDevice d) throws IOException {
    byte[] out = new byte[Math.toIntExact(d.size())];
    int pos = 0;
    while (pos < out.length) {
      try {
        d.read(pos, ByteBuffer.wrap(out, pos, out.length - pos).slice());
        break;
      } catch (DataUnavailableException e) {
        int good = Math.toIntExact(e.offset() - pos);
        if (good < 0 || good >= out.length - pos || e.length() <= 0) {
          throw new AssertionError("unreadable range " + e.offset() + "+" + e.length()
              + " outside the read at " + pos, e);
        }
        if (good > 0) {
          d.read(pos, ByteBuffer.wrap(out, pos, good).slice());
        }
        pos += good + (int) Math.min(e.length(), out.length - pos - good);
      }
    }
    return out;
  }

  public static void write(BlockDevice d, long offset, byte[] data) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(data);
    d.write(offset, b);
    if (b.hasRemaining()) {
      throw new AssertionError("write did not consume its buffer");
    }
  }

  /** Deterministic, non-zero-heavy bytes from a seed, so shrunk cases reproduce exactly. */
  public static byte[] pattern(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    if (length > 0 && b[0] == 0) {
      b[0] = 1;
    }
    return b;
  }

  /** First differing index, or -1. */
  public static int mismatch(byte[] a, byte[] b) {
    return java.util.Arrays.mismatch(a, b);
  }
}
