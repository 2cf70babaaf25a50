package io.blockkit.qcow2;

import io.airlift.compress.zstd.ZstdCompressor;
import io.airlift.compress.zstd.ZstdInputStream;
import io.blockkit.api.error.CorruptImageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * One cluster compressed or decompressed, with the image's compression type: raw deflate (type
 * 0, "zlib", no zlib header) or one zstd frame (type 1). Decompression produces exactly one
 * cluster and stops, whatever follows in the input (the rest of the last sector may belong to the
 * next compressed cluster). Thread-safe: codec state is per thread.
 */
final class Compression {
  /** zstd frames whose window exceeds this are refused rather than decoded (memory bound). */
  static final long MAX_ZSTD_WINDOW = 8L << 20;
  private static final int ZSTD_MAGIC = 0xfd2fb528;

  private static final ThreadLocal<Deflater> DEFLATERS =
      ThreadLocal.withInitial(() -> new Deflater(Deflater.DEFAULT_COMPRESSION, true));
  private static final ThreadLocal<Inflater> INFLATERS =
      ThreadLocal.withInitial(() -> new Inflater(true));

  private final int type;
  private final int clusterSize;

  Compression(int type, long clusterSize) {
    this.type = type;
    this.clusterSize = (int) clusterSize;
  }

  String typeName() {
    return type == Qcow2Header.COMPRESSION_ZSTD ? "zstd" : "zlib";
  }

  /**
   * Compresses one cluster ({@code src} holds {@code clusterSize} bytes); returns the number of
   * bytes written to {@code dst}, or -1 when the result would not be smaller than a cluster (the
   * caller then writes the cluster uncompressed, as qemu does).
   *
   * @param dst at least {@link #bufferSize()} bytes
   */
  int compress(byte[] src, byte[] dst) {
    int n;
    if (type == Qcow2Header.COMPRESSION_ZSTD) {
      n = new ZstdCompressor().compress(src, 0, clusterSize, dst, 0, dst.length);
    } else {
      Deflater d = DEFLATERS.get();
      d.reset();
      d.setInput(src, 0, clusterSize);
      d.finish();
      n = 0;
      while (!d.finished() && n < clusterSize) {
        n += d.deflate(dst, n, clusterSize - n);
      }
      if (!d.finished()) {
        return -1;
      }
    }
    return n < clusterSize ? n : -1;
  }

  /** Bytes {@link #compress} may need in its output buffer. */
  int bufferSize() {
    return Math.max(clusterSize + 1, new ZstdCompressor().maxCompressedLength(clusterSize));
  }

  /**
   * Decompresses one cluster from {@code src[0, length)} into {@code dst[0, clusterSize)}.
   *
   * @throws CorruptImageException when the data is not a valid stream or yields less than a
   *     cluster; {@code what} names the cluster in the message
   */
  void decompress(byte[] src, int length, byte[] dst, String location, String what)
      throws CorruptImageException {
    int n;
    try {
      n = type == Qcow2Header.COMPRESSION_ZSTD ? zstd(src, length, dst, location, what)
          : inflate(src, length, dst);
    } catch (DataFormatException | RuntimeException | IOException e) {
      throw new CorruptImageException(location, what + " holds no valid " + typeName()
          + " stream: " + e.getMessage());
    }
    if (n < clusterSize) {
      throw new CorruptImageException(location, what + " decompresses to " + n
          + " bytes, expected a whole cluster of " + clusterSize + " (" + typeName() + ")");
    }
  }

  private int inflate(byte[] src, int length, byte[] dst) throws DataFormatException {
    Inflater inf = INFLATERS.get();
    inf.reset();
    // Raw inflate may need one byte past the stream; the zero byte after it is never data.
    byte[] in = java.util.Arrays.copyOf(src, length + 1);
    inf.setInput(in, 0, length + 1);
    int n = 0;
    while (n < clusterSize) {
      int got = inf.inflate(dst, n, clusterSize - n);
      n += got;
      if (got == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) {
        break;
      }
    }
    return n;
  }

  private int zstd(byte[] src, int length, byte[] dst, String location, String what)
      throws IOException {
    long window = zstdWindow(src, length);
    if (window < 0 || window > MAX_ZSTD_WINDOW) {
      throw new CorruptImageException(location, what + " starts with no zstd frame header of a "
          + "window of at most " + MAX_ZSTD_WINDOW + " bytes (found " + (window < 0 ? "none"
              : window + " bytes") + ")");
    }
    int frame = zstdFrameLength(src, length);
    if (frame < 0) {
      throw new CorruptImageException(location, what + " holds no complete zstd frame");
    }
    // Only the frame: the decoder reads on into whatever follows it (the next cluster's data).
    try (ZstdInputStream in = new ZstdInputStream(new ByteArrayInputStream(src, 0, frame))) {
      int n = 0;
      while (n < clusterSize) {
        int got = in.read(dst, n, clusterSize - n);
        if (got < 0) {
          break;
        }
        n += got;
      }
      return n;
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /**
   * The length of the zstd frame at the start of {@code src} (header, blocks, checksum), or -1
   * when it does not end within {@code length} bytes.
   */
  static int zstdFrameLength(byte[] src, int length) {
    int fhd = src[4] & 0xff;
    boolean single = (fhd & 0x20) != 0;
    int fcsFlag = fhd >>> 6;
    int at = 5 + (single ? 0 : 1) + new int[] {0, 1, 2, 4}[fhd & 3]
        + (fcsFlag == 0 ? (single ? 1 : 0) : new int[] {0, 2, 4, 8}[fcsFlag]);
    while (true) {
      if (at + 3 > length) {
        return -1;
      }
      int h = (src[at] & 0xff) | (src[at + 1] & 0xff) << 8 | (src[at + 2] & 0xff) << 16;
      int type = (h >>> 1) & 3;
      if (type == 3) {
        return -1;
      }
      at += 3 + (type == 1 ? 1 : h >>> 3);
      if ((h & 1) != 0) {
        break;
      }
    }
    at += (fhd & 4) != 0 ? 4 : 0;
    return at <= length ? at : -1;
  }

  /**
   * The window size a zstd frame header at the start of {@code src} declares (the memory a
   * decoder needs), or -1 when there is no complete frame header.
   */
  static long zstdWindow(byte[] src, int length) {
    if (length < 6 || (src[0] & 0xff | (src[1] & 0xff) << 8 | (src[2] & 0xff) << 16
        | (src[3] & 0xff) << 24) != ZSTD_MAGIC) {
      return -1;
    }
    int fhd = src[4] & 0xff;
    boolean single = (fhd & 0x20) != 0;
    if (!single) {
      int wd = src[5] & 0xff;
      long base = 1L << (10 + (wd >>> 3));
      return base + (base >>> 3) * (wd & 7);
    }
    int dictBytes = new int[] {0, 1, 2, 4}[fhd & 3];
    int fcsFlag = fhd >>> 6;
    int fcsBytes = new int[] {1, 2, 4, 8}[fcsFlag];
    int at = 5 + dictBytes;
    if (at + fcsBytes > length) {
      return -1;
    }
    long fcs = 0;
    for (int i = fcsBytes - 1; i >= 0; i--) {
      fcs = fcs << 8 | (src[at + i] & 0xff);
    }
    return fcsFlag == 1 ? fcs + 256 : fcs < 0 ? Long.MAX_VALUE : fcs;
  }
}
