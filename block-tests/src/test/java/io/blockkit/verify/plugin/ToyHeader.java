package io.blockkit.verify.plugin;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The first 512 bytes of a toy image (big-endian): the magic {@code TOYFMT\r\n}, the virtual size
 * (u64), the cluster size (u32, a power of two from 512 to 64 KiB), the backing name's and the
 * backing format's lengths (u16 each), then both in UTF-8. The map follows at 512, a u32 per
 * cluster: 0 = unallocated (reads the backing, or zeros), {@link #ZERO} = reads zeros, otherwise
 * the host cluster number holding the data. Data clusters start after the map, aligned to the
 * cluster size, and are appended.
 *
 * @param backingName the stored backing name, or null
 * @param backingFormat the stored backing format, or null
 */
record ToyHeader(long size, int clusterSize, String backingName, String backingFormat) {
  static final byte[] MAGIC = "TOYFMT\r\n".getBytes(StandardCharsets.US_ASCII);
  static final int LENGTH = 512;
  static final int MAP_OFFSET = LENGTH;
  static final int ZERO = 0xffffffff;
  static final long MAX_CLUSTERS = 1 << 24;
  private static final int NAMES_OFFSET = 24;

  /** The number of clusters, the last one possibly partial. */
  long clusters() {
    return (size + clusterSize - 1) / clusterSize;
  }

  /** Where the first data cluster may go. */
  long dataStart() {
    long end = MAP_OFFSET + 4 * clusters();
    return (end + clusterSize - 1) / clusterSize * clusterSize;
  }

  /** Checks a header to be written; the messages name the create option. */
  static String problem(long size, long clusterSize, String backingName, String backingFormat) {
    if (clusterSize < 512 || clusterSize > 65536 || Long.bitCount(clusterSize) != 1) {
      return "cluster_size must be a power of two from 512 to 64K, not " + clusterSize;
    }
    if (size < 0 || (size + clusterSize - 1) / clusterSize > MAX_CLUSTERS) {
      return "size must be at most " + MAX_CLUSTERS + " clusters, not " + size + " bytes";
    }
    if (utf8(backingName).length + utf8(backingFormat).length > LENGTH - NAMES_OFFSET) {
      return "backing_file and backing_fmt must fit in " + (LENGTH - NAMES_OFFSET) + " bytes";
    }
    return null;
  }

  ByteBuffer encode() {
    byte[] name = utf8(backingName);
    byte[] format = utf8(backingFormat);
    ByteBuffer b = ByteBuffer.allocate(LENGTH);
    b.put(MAGIC).putLong(size).putInt(clusterSize).putShort((short) name.length)
        .putShort((short) format.length).put(name).put(format);
    return b.clear();
  }

  /** Reads and checks the header of {@code child}. */
  static ToyHeader read(BlockDevice child, String location) throws IOException {
    if (child.size() < LENGTH) {
      throw new CorruptImageException(location, "file length", -1, String.valueOf(child.size()),
          "at least " + LENGTH + " bytes");
    }
    ByteBuffer b = ByteBuffer.allocate(LENGTH);
    child.read(0, b);
    b.flip();
    byte[] magic = new byte[MAGIC.length];
    b.get(magic);
    if (!Arrays.equals(magic, MAGIC)) {
      throw new CorruptImageException(location, "header.magic", 0, "wrong", "TOYFMT");
    }
    long size = b.getLong();
    long cluster = Integer.toUnsignedLong(b.getInt());
    int nameLength = Short.toUnsignedInt(b.getShort());
    int formatLength = Short.toUnsignedInt(b.getShort());
    if (nameLength + formatLength > LENGTH - NAMES_OFFSET) {
      throw new CorruptImageException(location, "header.backing-name-length", 20,
          nameLength + "+" + formatLength, "at most " + (LENGTH - NAMES_OFFSET) + " in all");
    }
    String problem = problem(size, cluster, null, null);
    if (problem != null) {
      throw new CorruptImageException(location, "header", 8, size + "/" + cluster, problem);
    }
    String name = text(b, nameLength);
    String format = text(b, formatLength);
    ToyHeader h = new ToyHeader(size, (int) cluster, name, format);
    long mapEnd = MAP_OFFSET + 4 * h.clusters();
    if (child.size() < mapEnd) {
      throw new CorruptImageException(location, "map", MAP_OFFSET, "cut at " + child.size(),
          h.clusters() + " entries ending at " + mapEnd);
    }
    return h;
  }

  private static String text(ByteBuffer b, int length) {
    if (length == 0) {
      return null;
    }
    byte[] t = new byte[length];
    b.get(t);
    return new String(t, StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8);
  }
}
