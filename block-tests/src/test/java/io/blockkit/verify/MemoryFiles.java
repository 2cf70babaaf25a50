package io.blockkit.verify;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.OpenRequest;
import io.blockkit.memory.MemoryDriver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Byte arrays as {@code memory:} files, so fuzz inputs go through the real protocol driver. */
public final class MemoryFiles {
  private static final AtomicLong NAMES = new AtomicLong();

  private MemoryFiles() {}

  /** A new memory file holding {@code bytes}; returns its {@code memory:name} location. */
  public static String put(String prefix, byte[] bytes) throws IOException {
    String location = MemoryDriver.NAME + ":" + prefix + "-" + NAMES.incrementAndGet();
    Images.registry().create(location, MemoryDriver.NAME, Map.of());
    try (BlockDevice file = protocol().open(OpenRequest.of(name(location), null, false))) {
      file.write(0, ByteBuffer.wrap(bytes));
    }
    return location;
  }

  /** The whole content of a memory file. */
  public static byte[] get(String location) throws IOException {
    return get(location, Integer.MAX_VALUE);
  }

  /** The first {@code max} bytes of a memory file (all of it when shorter). */
  public static byte[] get(String location, int max) throws IOException {
    try (BlockDevice file = protocol().open(OpenRequest.of(name(location), null, true))) {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(Math.min(max, file.size())));
      file.read(0, b);
      return b.array();
    }
  }

  /**
   * Forgets the file, so a long fuzzing run does not keep every input in memory. A file already
   * gone (a failed create removes what it made) is fine.
   */
  public static void delete(String location) throws IOException {
    Images.delete(location);
  }

  private static BlockDriver protocol() throws IOException {
    return Images.registry().driver(MemoryDriver.NAME);
  }

  private static String name(String location) {
    return location.substring(MemoryDriver.NAME.length() + 1);
  }
}
