package io.blockkit.vhdx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.UUID;

/**
 * One log entry: a 64-byte header and 32-byte descriptors in its first sectors, then one 4 KiB
 * data sector per data descriptor. A data sector keeps bytes 8..4091 of its 4 KiB update between
 * its signature and a split copy of the sequence number; the update's first 8 and last 4 bytes
 * travel in the descriptor. The checksum covers the whole entry.
 *
 * @param position where the entry starts, relative to the log
 * @param length its length in bytes (a multiple of 4 KiB)
 * @param tail where the oldest entry of the sequence ending here starts, relative to the log
 * @param sequence its sequence number (above zero)
 * @param flushedFileOffset a file size known durable when the entry was written
 * @param lastFileOffset a file size every structure fits into
 * @param descriptors its updates, in order
 */
record LogEntry(long position, long length, long tail, long sequence, long flushedFileOffset,
    long lastFileOffset, List<Descriptor> descriptors) {

  static final int SIGNATURE = 0x65676F6C; // "loge"
  static final int ZERO_SIGNATURE = 0x6F72657A; // "zero"
  static final int DESC_SIGNATURE = 0x63736564; // "desc"
  static final int DATA_SIGNATURE = 0x61746164; // "data"
  static final int HEADER_BYTES = 64;
  static final int DESCRIPTOR_BYTES = 32;
  static final int CHECKSUM_FIELD = 4;

  /**
   * One update: zeros over {@code length} bytes, or the 4 KiB page whose middle bytes are in the
   * data sector at {@code dataPosition} (relative to the log) and whose ends are {@code leading}
   * and {@code trailing}.
   */
  record Descriptor(boolean zero, long fileOffset, long length, long dataPosition, long leading,
      int trailing) {
    long end() {
      return fileOffset + length;
    }
  }

  /** Sectors the header and {@code count} descriptors take: 126 fit in the first, 128 in others. */
  static long descriptorSectors(long count) {
    return (HEADER_BYTES + DESCRIPTOR_BYTES * count + Layout.PAGE - 1) / Layout.PAGE;
  }

  /** Rebuilds a data descriptor's 4 KiB update from its data sector. */
  static ByteBuffer page(Descriptor d, ByteBuffer dataSector) {
    ByteBuffer p = ByteBuffer.allocate(Layout.PAGE).order(ByteOrder.LITTLE_ENDIAN);
    byte[] middle = new byte[Layout.PAGE - 12];
    dataSector.duplicate().position(8).get(middle);
    p.put(8, middle);
    p.putLong(0, d.leading());
    p.putInt(Layout.PAGE - 4, d.trailing());
    return p;
  }

  /**
   * Encodes an entry of {@code updates} (4 KiB pages, or zero ranges with {@code page} null).
   */
  static ByteBuffer encode(UUID logGuid, long sequence, long tail, long flushedFileOffset,
      long lastFileOffset, List<Update> updates) {
    long dataSectors = updates.stream().filter(u -> u.page() != null).count();
    long descSectors = descriptorSectors(updates.size());
    int length = Math.toIntExact((descSectors + dataSectors) * Layout.PAGE);
    ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, SIGNATURE);
    b.putInt(8, length);
    b.putInt(12, (int) tail);
    b.putLong(16, sequence);
    b.putInt(24, updates.size());
    Guids.put(b, 32, logGuid);
    b.putLong(48, flushedFileOffset);
    b.putLong(56, lastFileOffset);
    int desc = HEADER_BYTES;
    int data = (int) (descSectors * Layout.PAGE);
    for (Update u : updates) {
      if (u.page() == null) {
        b.putInt(desc, ZERO_SIGNATURE);
        b.putLong(desc + 8, u.length());
      } else {
        ByteBuffer page = u.page().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(desc, DESC_SIGNATURE);
        b.putInt(desc + 4, page.getInt(Layout.PAGE - 4));
        b.putLong(desc + 8, page.getLong(0));
        b.putInt(data, DATA_SIGNATURE);
        b.putInt(data + 4, (int) (sequence >>> 32));
        b.put(data + 8, page, 8, Layout.PAGE - 12);
        b.putInt(data + Layout.PAGE - 4, (int) sequence);
        data += Layout.PAGE;
      }
      b.putLong(desc + 16, u.fileOffset());
      b.putLong(desc + 24, sequence);
      desc += DESCRIPTOR_BYTES;
    }
    Checksums.seal(b, CHECKSUM_FIELD);
    return b;
  }

  /**
   * A metadata update to go through the log: a 4 KiB page of bytes for {@code fileOffset}, or
   * (with {@code page} null) zeros over {@code length} bytes there.
   */
  record Update(long fileOffset, long length, ByteBuffer page) {
    static Update page(long fileOffset, ByteBuffer page) {
      return new Update(fileOffset, Layout.PAGE, page);
    }

    static Update zeros(long fileOffset, long length) {
      return new Update(fileOffset, length, null);
    }

    /** Log sectors this update takes in an entry besides its descriptor. */
    int dataSectors() {
      return page == null ? 0 : 1;
    }
  }
}
