package io.blockkit.vpc;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * VHD images assembled byte by byte from the format's description (footer, dynamic header, BAT,
 * sector bitmaps, parent locators), without the driver's own classes, so tests of the driver do
 * not trust what they test. Layout: footer copy, header at 512, BAT at 1536, locator data, then
 * blocks in the order they are added, then the footer. Creator "win " (Hyper-V): the size is
 * current_size, whatever the geometry.
 */
final class HandVhd {
  static final int SECTOR = 512;

  private final int type;
  private final long size;
  private final int blockSize;
  private final Map<Integer, byte[][]> blocks = new LinkedHashMap<>();
  private final List<Object[]> locators = new ArrayList<>();
  private UUID id = UUID.randomUUID();
  private UUID parentId = new UUID(0, 0);
  private long parentTimestamp;
  private String parentName = "";
  private long timestamp = 0x2c000000L;
  private boolean spaceInSectors;

  private HandVhd(int type, long size, int blockSize) {
    this.type = type;
    this.size = size;
    this.blockSize = blockSize;
  }

  /** A dynamic disk (type 3) of {@code size} bytes. */
  static HandVhd dynamic(long size, int blockSize) {
    return new HandVhd(3, size, blockSize);
  }

  /** A differencing disk (type 4) of {@code size} bytes. */
  static HandVhd differencing(long size, int blockSize) {
    return new HandVhd(4, size, blockSize);
  }

  HandVhd id(UUID uuid) {
    this.id = uuid;
    return this;
  }

  HandVhd timestamp(long t) {
    this.timestamp = t;
    return this;
  }

  /** The parent's identity and unicode name, as the header stores them. */
  HandVhd parent(UUID uuid, long stamp, String name) {
    this.parentId = uuid;
    this.parentTimestamp = stamp;
    this.parentName = name;
    return this;
  }

  /** A locator entry: platform code and the name in the encoding that code uses. */
  HandVhd locator(String code, String name) {
    Charset cs = switch (code) {
      case "W2ru", "W2ku" -> StandardCharsets.UTF_16LE;
      case "MacX" -> StandardCharsets.UTF_8;
      default -> StandardCharsets.ISO_8859_1;
    };
    locators.add(new Object[] {code, name.getBytes(cs)});
    return this;
  }

  /** Writes locator data space as sectors, as the specification says (Hyper-V writes bytes). */
  HandVhd spaceInSectors() {
    this.spaceInSectors = true;
    return this;
  }

  /** Block {@code index} with the sectors {@code present} marked in its bitmap. */
  HandVhd block(int index, byte[] data, int... present) {
    int sectors = blockSize / SECTOR;
    byte[] bitmap = new byte[(int) roundUp((sectors + 7) / 8, SECTOR)];
    for (int s : present) {
      bitmap[s / 8] |= (byte) (0x80 >>> (s % 8));
    }
    blocks.put(index, new byte[][] {bitmap, Arrays.copyOf(data, blockSize)});
    return this;
  }

  /** Block {@code index} with every sector present. */
  HandVhd fullBlock(int index, byte[] data) {
    int[] all = new int[blockSize / SECTOR];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    return block(index, data, all);
  }

  static long roundUp(long n, long unit) {
    return (n + unit - 1) / unit * unit;
  }

  byte[] build() {
    int entries = (int) ((size + blockSize - 1) / blockSize);
    long batBytes = roundUp(4L * entries, SECTOR);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] head = new byte[(int) (1536 + batBytes)];
    long pos = head.length;
    List<byte[]> locatorData = new ArrayList<>();
    ByteBuffer h = ByteBuffer.wrap(head);
    for (int i = 0; i < locators.size(); i++) {
      byte[] data = (byte[]) locators.get(i)[1];
      long space = roundUp(Math.max(1, data.length), SECTOR);
      int at = 512 + 576 + 24 * i;
      h.put(at, ((String) locators.get(i)[0]).getBytes(StandardCharsets.ISO_8859_1));
      h.putInt(at + 4, (int) (spaceInSectors ? space / SECTOR : space));
      h.putInt(at + 8, data.length);
      h.putLong(at + 16, pos);
      locatorData.add(Arrays.copyOf(data, (int) space));
      pos += space;
    }
    Arrays.fill(head, 1536, (int) (1536 + batBytes), (byte) 0xff);
    for (Map.Entry<Integer, byte[][]> b : blocks.entrySet()) {
      h.putInt(1536 + 4 * b.getKey(), (int) (pos / SECTOR));
      pos += b.getValue()[0].length + blockSize;
    }
    // dynamic header
    h.put(512, "cxsparse".getBytes(StandardCharsets.ISO_8859_1));
    h.putLong(512 + 8, -1L);
    h.putLong(512 + 16, 1536);
    h.putInt(512 + 24, 0x00010000);
    h.putInt(512 + 28, entries);
    h.putInt(512 + 32, blockSize);
    h.putLong(512 + 40, parentId.getMostSignificantBits());
    h.putLong(512 + 48, parentId.getLeastSignificantBits());
    h.putInt(512 + 56, (int) parentTimestamp);
    byte[] name = parentName.getBytes(StandardCharsets.UTF_16BE);
    System.arraycopy(name, 0, head, 512 + 64, Math.min(512, name.length));
    checksum(head, 512, 1024, 36);
    byte[] footer = footer(type, 512, size, "win ", id, timestamp);
    System.arraycopy(footer, 0, head, 0, 512);
    out.writeBytes(head);
    locatorData.forEach(out::writeBytes);
    for (byte[][] b : blocks.values()) {
      out.writeBytes(b[0]);
      out.writeBytes(b[1]);
    }
    out.writeBytes(footer);
    return out.toByteArray();
  }

  /** A 512-byte footer with the geometry the specification gives for {@code size}. */
  static byte[] footer(int type, long dataOffset, long size, String creator, UUID id,
      long timestamp) {
    ByteBuffer f = ByteBuffer.allocate(512);
    f.put(0, "conectix".getBytes(StandardCharsets.ISO_8859_1));
    f.putInt(8, 2);
    f.putInt(12, 0x00010000);
    f.putLong(16, dataOffset);
    f.putInt(24, (int) timestamp);
    f.put(28, creator.getBytes(StandardCharsets.ISO_8859_1));
    f.putInt(32, 0x00050000);
    f.put(36, "Wi2k".getBytes(StandardCharsets.ISO_8859_1));
    f.putLong(40, size);
    f.putLong(48, size);
    int[] chs = chs(size / SECTOR);
    f.putShort(56, (short) chs[0]);
    f.put(58, (byte) chs[1]);
    f.put(59, (byte) chs[2]);
    f.putInt(60, type);
    f.putLong(68, id.getMostSignificantBits());
    f.putLong(76, id.getLeastSignificantBits());
    byte[] b = f.array();
    checksum(b, 0, 512, 64);
    return b;
  }

  /** A fixed disk: the data, then its footer. */
  static byte[] fixed(byte[] data, String creator, UUID id, long timestamp) {
    byte[] out = Arrays.copyOf(data, data.length + 512);
    System.arraycopy(footer(2, -1, data.length, creator, id, timestamp), 0, out, data.length,
        512);
    return out;
  }

  /** The geometry of the specification's appendix (rounding down). */
  static int[] chs(long sectors) {
    long total = Math.min(sectors, 65535L * 16 * 255);
    int spt;
    int heads;
    long cth;
    if (total >= 65535L * 16 * 63) {
      spt = 255;
      heads = 16;
      cth = total / spt;
    } else {
      spt = 17;
      cth = total / spt;
      heads = (int) Math.max(4, (cth + 1023) / 1024);
      if (cth >= heads * 1024L || heads > 16) {
        spt = 31;
        heads = 16;
        cth = total / spt;
      }
      if (cth >= heads * 1024L) {
        spt = 63;
        heads = 16;
        cth = total / spt;
      }
    }
    return new int[] {(int) (cth / heads), heads, spt};
  }

  /** Stores the one's complement byte sum of {@code b[off, off+len)} at {@code off + at}. */
  static void checksum(byte[] b, int off, int len, int at) {
    Arrays.fill(b, off + at, off + at + 4, (byte) 0);
    long sum = 0;
    for (int i = off; i < off + len; i++) {
      sum += b[i] & 0xff;
    }
    ByteBuffer.wrap(b).putInt(off + at, (int) ~sum);
  }
}
