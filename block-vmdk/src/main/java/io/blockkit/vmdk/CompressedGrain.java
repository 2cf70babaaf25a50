package io.blockkit.vmdk;

import static io.blockkit.vmdk.SparseHeader.SECTOR;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A compressed grain on disk, read by {@link SparseExtent} and written by {@link StreamExtent}.
 * With grain markers (stream-optimized): a 12-byte marker (the grain's first sector, 64 bits;
 * the compressed size, 32 bits), then the zlib stream (RFC 1950), padded to a sector. Without
 * markers (older compressed extents): the zlib stream alone. Every marker field is checked
 * against the grain size and the file before anything is allocated or read from it.
 */
final class CompressedGrain {
  /** Bytes of a grain marker before its data; metadata markers add a 4-byte type. */
  static final int MARKER_HEADER = 12;

  private CompressedGrain() {}

  /** The fields of a marker; {@code type} is -1 unless it was read (metadata markers). */
  record Marker(long value, long size, int type) {
    /** Reads the marker at byte {@code at}: {@code bytes} is 12, or 16 with the type. */
    static Marker read(BlockDevice file, long at, int bytes) throws IOException {
      ByteBuffer m = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
      file.read(at, m);
      return new Marker(m.getLong(0), Integer.toUnsignedLong(m.getInt(8)),
          bytes > MARKER_HEADER ? m.getInt(MARKER_HEADER) : -1);
    }
  }

  /**
   * The largest compressed size a marker at byte {@code at} may give: zlib may grow
   * incompressible data a little, and the data must end inside the file.
   */
  static long maxStored(long grainBytes, long at, long fileLength) {
    return Math.min(2 * grainBytes + SECTOR, fileLength - at - MARKER_HEADER);
  }

  /** Sectors a grain marker with {@code stored} compressed bytes takes, padding included. */
  static long sectors(long stored) {
    return SparseHeader.roundUp(MARKER_HEADER + stored) / SECTOR;
  }

  /**
   * The compressed size in the marker of grain {@code g}, whose GT entry is sector {@code e}.
   *
   * @throws DataUnavailableException when the marker lies past the end of the file, gives a size
   *     outside 1 to {@link #maxStored}, or is for another grain
   */
  static long storedSize(SparseExtent x, long g, int e) throws IOException {
    long at = Integer.toUnsignedLong(e) * SECTOR;
    long fileLength = x.file.size();
    if (at >= fileLength || fileLength - at < MARKER_HEADER) {
      throw x.pastEnd(g, e, fileLength);
    }
    Marker m = Marker.read(x.file, at, MARKER_HEADER);
    long max = maxStored(x.grainBytes(), at, fileLength);
    if (m.size() == 0 || m.size() > max) {
      throw x.unavailable(g, "its grain marker at byte " + at + " gives a compressed size of "
          + m.size() + ", expected 1 to " + max + " bytes");
    }
    if (m.value() != g * x.header.grainSectors) {
      throw x.unavailable(g, "its grain marker at byte " + at + " is for sector "
          + Long.toUnsignedString(m.value()) + ", expected sector " + g * x.header.grainSectors);
    }
    return m.size();
  }

  /**
   * Inflates grain {@code g}, whose GT entry is sector {@code e}, from byte {@code in} of the
   * grain into {@code part}; a zlib stream shorter than the grain leaves zeros, as QEMU reads it.
   *
   * @throws DataUnavailableException when the marker is invalid ({@link #storedSize}) or the
   *     zlib data is damaged or truncated
   */
  static void read(SparseExtent x, long g, int e, long in, ByteBuffer part) throws IOException {
    long at = Integer.toUnsignedLong(e) * SECTOR;
    long fileLength = x.file.size();
    if (at >= fileLength) {
      throw x.pastEnd(g, e, fileLength);
    }
    int size;
    long dataAt;
    if (x.header.has(SparseHeader.FLAG_MARKERS)) {
      size = (int) storedSize(x, g, e);
      dataAt = at + MARKER_HEADER;
    } else {
      size = (int) Math.min(2 * x.grainBytes() + SECTOR, fileLength - at);
      dataAt = at;
    }
    byte[] compressed = new byte[size];
    x.file.read(dataAt, ByteBuffer.wrap(compressed));
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(compressed);
      if (!skip(inflater, in) || !fill(inflater, part)) {
        throw x.unavailable(g, "its zlib data at byte " + at + " is truncated or damaged");
      }
    } catch (DataFormatException ex) {
      throw x.unavailable(g, "the data at byte " + at + " is not a zlib stream (RFC 1950): "
          + ex.getMessage());
    } finally {
      inflater.end();
    }
  }

  /** Inflates and drops {@code in} bytes; false when the input ran out before the stream end. */
  private static boolean skip(Inflater inflater, long in) throws DataFormatException {
    byte[] skip = new byte[(int) Math.min(in, 64 << 10)];
    long toSkip = in;
    while (toSkip > 0) {
      int n = inflater.inflate(skip, 0, (int) Math.min(toSkip, skip.length));
      if (n == 0) {
        return inflater.finished(); // a short stream: what follows reads as zeros
      }
      toSkip -= n;
    }
    return true;
  }

  /** Inflates into {@code part}, zeros past the stream's end; false when the input ran out. */
  private static boolean fill(Inflater inflater, ByteBuffer part) throws DataFormatException {
    int want = part.remaining();
    byte[] out = new byte[want];
    int got = 0;
    while (got < want) {
      int n = inflater.inflate(out, got, want - got);
      if (n == 0) {
        break;
      }
      got += n;
    }
    if (got < want && !inflater.finished()) {
      return false;
    }
    part.put(out, 0, got);
    SparseExtent.zero(part);
    return true;
  }

  /**
   * Grain {@code g}'s data, compressed behind its marker and padded to a sector: what a stream
   * appends.
   */
  static ByteBuffer encode(long g, long grainSectors, ByteBuffer data) {
    byte[] compressed = deflate(data);
    ByteBuffer marker = ByteBuffer.allocate((int) (sectors(compressed.length) * SECTOR))
        .order(ByteOrder.LITTLE_ENDIAN);
    return marker.putLong(g * grainSectors).putInt(compressed.length).put(compressed).clear();
  }

  private static byte[] deflate(ByteBuffer data) {
    byte[] in = new byte[data.remaining()];
    data.get(in);
    Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION);
    try {
      d.setInput(in);
      d.finish();
      ByteBuffer out = ByteBuffer.allocate(in.length + in.length / 100 + 64);
      byte[] chunk = new byte[64 << 10];
      while (!d.finished()) {
        int n = d.deflate(chunk);
        if (out.remaining() < n) {
          ByteBuffer bigger = ByteBuffer.allocate(out.capacity() * 2 + n);
          bigger.put(out.flip());
          out = bigger;
        }
        out.put(chunk, 0, n);
      }
      byte[] result = new byte[out.position()];
      out.flip().get(result);
      return result;
    } finally {
      d.end();
    }
  }
}
