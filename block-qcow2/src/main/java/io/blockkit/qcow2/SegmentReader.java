package io.blockkit.qcow2;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What each kind of {@link Segment} reads as: the backing, zeros, host bytes (zeros past the end
 * of the file, as in qemu), one decompressed cluster, or a {@link DataUnavailableException} for
 * metadata that cannot be followed. Used by reads, by copy-on-write, and by check (which
 * decompresses every compressed cluster). Takes no locks: the caller holds the clusters'.
 */
final class SegmentReader {
  /** Reads the backing over an unallocated range (zeros without one). */
  interface Backing {
    void read(long offset, ByteBuffer dst) throws IOException;
  }

  private final Qcow2Image img;
  private final Layout layout;
  private final Backing backing;

  SegmentReader(Qcow2Image img, Backing backing) {
    this.img = img;
    this.layout = img.layout;
    this.backing = backing;
  }

  /** Fills {@code dst} (the segment's length) with what the segment reads as. */
  void read(Segment s, ByteBuffer dst) throws IOException {
    switch (s.kind()) {
      case UNALLOCATED -> backing.read(s.offset(), dst);
      case ZERO -> zeros(dst);
      case NORMAL -> readHost(s.host(), dst);
      case COMPRESSED -> {
        byte[] c = decompress(s.entry(), s.offset());
        dst.put(c, (int) layout.inCluster(s.offset()), dst.remaining());
      }
      default -> throw new DataUnavailableException("Cannot read '" + img.location
          + "' at virtual offset " + s.offset() + " (" + s.length() + " bytes): " + s.problem()
          + " (run check -r all)", s.offset(), s.length());
    }
  }

  static void zeros(ByteBuffer dst) {
    if (dst.hasArray()) {
      Arrays.fill(dst.array(), dst.arrayOffset() + dst.position(),
          dst.arrayOffset() + dst.limit(), (byte) 0);
      dst.position(dst.limit());
    } else {
      while (dst.hasRemaining()) {
        dst.put((byte) 0);
      }
    }
  }

  /** Reads guest data at a host offset; bytes past the end of a file read as zeros, as in qemu. */
  private void readHost(long host, ByteBuffer dst) throws IOException {
    long known = img.externalData ? img.dataLengthAtOpen : img.fileLengthAtOpen;
    int n = dst.remaining();
    if (host < known && host + n > known) {
      ByteBuffer head = dst.slice();
      head.limit((int) (known - host));
      img.data.read(host, head);
      dst.position(dst.position() + head.limit());
      zeros(dst);
      return;
    }
    if (img.externalData && host >= known && host + n > img.data.size()) {
      zeros(dst);
      return;
    }
    img.data.read(host, dst);
  }

  /**
   * One compressed cluster's bytes.
   *
   * @throws DataUnavailableException if the data does not decode to a cluster
   * @throws IOException if the file cannot be read
   */
  byte[] decompress(long entry, long guestOffset) throws IOException {
    long off = layout.compressedOffset(entry);
    long len = Math.min(layout.compressedLength(entry), img.fileLength() - off);
    byte[] in = new byte[(int) len];
    img.file.read(off, ByteBuffer.wrap(in));
    byte[] out = new byte[(int) layout.clusterSize];
    try {
      img.compression.decompress(in, in.length, out, img.location,
          "compressed cluster at virtual offset " + layout.clusterStart(guestOffset)
          + " (data at " + off + ")");
    } catch (CorruptImageException e) {
      throw new DataUnavailableException(e.getMessage(), layout.clusterStart(guestOffset),
          layout.clusterSize);
    }
    return out;
  }
}
