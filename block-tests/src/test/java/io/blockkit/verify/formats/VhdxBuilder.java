package io.blockkit.verify.formats;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Writes VHDX files field by field from [MS-VHDX] (reference: formats.md section 4), without any
 * code of the vhdx driver, so that hand-built images test the driver against the specification
 * rather than against itself: file identifier, headers, region table, metadata items with a
 * parent locator, BAT entries, sector bitmap bits, payload bytes and log entries.
 */
public final class VhdxBuilder {
  public static final int MIB = 1 << 20;
  public static final UUID BAT = UUID.fromString("2dc27766-f623-4200-9d64-115e9bfd4a08");
  public static final UUID METADATA = UUID.fromString("8b7ca206-4790-4b9a-b8fe-575f050f886e");
  public static final UUID VHDX_LOCATOR = UUID.fromString("b04aefb7-d19e-4a81-b789-25b8e9445913");
  public static final int NOT_PRESENT = 0;
  public static final int ZERO = 2;
  public static final int FULLY_PRESENT = 6;
  public static final int PARTIALLY_PRESENT = 7;
  public static final int SB_PRESENT = 6;

  private final ByteBuffer b;

  /** An all-zero file of {@code length} bytes with the file type identifier. */
  public VhdxBuilder(int length) {
    b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, "vhdxfile".getBytes(StandardCharsets.US_ASCII));
    b.put(8, "hand-built".getBytes(StandardCharsets.UTF_16LE));
  }

  public byte[] bytes() {
    return b.array();
  }

  /** Microsoft's binary GUID: the first three fields little-endian, the last eight as written. */
  public static void guid(ByteBuffer to, int at, UUID u) {
    ByteBuffer be = ByteBuffer.allocate(16).putLong(u.getMostSignificantBits())
        .putLong(u.getLeastSignificantBits());
    byte[] g = be.array();
    byte[] ms = {g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]};
    to.put(at, ms);
    to.put(at + 8, g, 8, 8);
  }

  private static int crc(ByteBuffer buf, int from, int length) {
    CRC32C c = new CRC32C();
    c.update(buf.array(), buf.arrayOffset() + from, length);
    return (int) c.getValue();
  }

  /** Header {@code slot} (0 at 64 KiB, 1 at 128 KiB), its checksum over 4 KiB. */
  public VhdxBuilder header(int slot, long sequence, UUID fileWrite, UUID dataWrite, UUID log,
      long logOffset, long logLength) {
    int at = (slot + 1) * 64 * 1024;
    b.putInt(at, 0x64616568); // "head"
    b.putLong(at + 8, sequence);
    guid(b, at + 16, fileWrite);
    guid(b, at + 32, dataWrite);
    guid(b, at + 48, log);
    b.putShort(at + 64, (short) 0);
    b.putShort(at + 66, (short) 1);
    b.putInt(at + 68, (int) logLength);
    b.putLong(at + 72, logOffset);
    b.putInt(at + 4, 0);
    b.putInt(at + 4, crc(b, at, 4096));
    return this;
  }

  /** Both region table copies: the BAT and the metadata region, required. */
  public VhdxBuilder regions(long batOffset, long batLength, long metaOffset, long metaLength) {
    for (int at : new int[] {192 * 1024, 256 * 1024}) {
      b.putInt(at, 0x69676572); // "regi"
      b.putInt(at + 8, 2);
      guid(b, at + 16, BAT);
      b.putLong(at + 32, batOffset);
      b.putInt(at + 40, (int) batLength);
      b.putInt(at + 44, 1);
      guid(b, at + 48, METADATA);
      b.putLong(at + 64, metaOffset);
      b.putInt(at + 72, (int) metaLength);
      b.putInt(at + 76, 1);
      b.putInt(at + 4, 0);
      b.putInt(at + 4, crc(b, at, 64 * 1024));
    }
    return this;
  }

  /**
   * The metadata region at {@code offset}: file parameters, virtual disk size and ID, logical and
   * physical sector sizes, and (when {@code locator} is not null) a VHDX parent locator with the
   * HasParent bit.
   */
  public VhdxBuilder metadata(long offset, long blockSize, boolean fixed, long virtualSize,
      UUID diskId, int sectorSize, Map<String, String> locator) {
    int base = (int) offset;
    b.putLong(base, 0x617461646174656DL); // "metadata"
    List<byte[]> items = new ArrayList<>();
    List<UUID> ids = new ArrayList<>();
    List<Integer> flags = new ArrayList<>();
    ByteBuffer params = le(8).putInt(0, (int) blockSize)
        .putInt(4, (fixed ? 1 : 0) | (locator != null ? 2 : 0));
    add(items, ids, flags, params.array(), "caa16737-fa36-4d43-b3b6-33f0aa44e76b", 4);
    add(items, ids, flags, le(8).putLong(0, virtualSize).array(),
        "2fa54224-cd1b-4876-b211-5dbed83bf4b8", 6);
    ByteBuffer id = le(16);
    guid(id, 0, diskId);
    add(items, ids, flags, id.array(), "beca12ab-b2e6-4523-93ef-c309e000c746", 6);
    add(items, ids, flags, le(4).putInt(0, sectorSize).array(),
        "8141bf1d-a96f-4709-ba47-f233a8faab5f", 6);
    add(items, ids, flags, le(4).putInt(0, 4096).array(),
        "cda348c7-445d-4471-9cc9-e9885251c556", 6);
    if (locator != null) {
      add(items, ids, flags, locator(locator), "a8d35f2d-b30b-454d-abf7-d3d84834ab0c", 4);
    }
    b.putShort(base + 10, (short) items.size());
    int data = 64 * 1024;
    for (int i = 0; i < items.size(); i++) {
      int entry = base + 32 + 32 * i;
      guid(b, entry, ids.get(i));
      b.putInt(entry + 16, data);
      b.putInt(entry + 20, items.get(i).length);
      b.putInt(entry + 24, flags.get(i));
      b.put(base + data, items.get(i));
      data += items.get(i).length;
    }
    return this;
  }

  private static void add(List<byte[]> items, List<UUID> ids, List<Integer> flags, byte[] v,
      String id, int f) {
    items.add(v);
    ids.add(UUID.fromString(id));
    flags.add(f);
  }

  /** A VHDX parent locator item: a header, 12-byte entries, UTF-16LE keys and values. */
  private static byte[] locator(Map<String, String> entries) {
    List<byte[]> texts = new ArrayList<>();
    entries.forEach((k, v) -> {
      texts.add(k.getBytes(StandardCharsets.UTF_16LE));
      texts.add(v.getBytes(StandardCharsets.UTF_16LE));
    });
    int size = 20 + 12 * entries.size() + texts.stream().mapToInt(t -> t.length).sum();
    ByteBuffer l = le(size);
    guid(l, 0, VHDX_LOCATOR);
    l.putShort(18, (short) entries.size());
    int data = 20 + 12 * entries.size();
    for (int i = 0; i < entries.size(); i++) {
      byte[] k = texts.get(2 * i);
      byte[] v = texts.get(2 * i + 1);
      int e = 20 + 12 * i;
      l.putInt(e, data).put(data, k);
      data += k.length;
      l.putInt(e + 4, data).put(data, v);
      data += v.length;
      l.putShort(e + 8, (short) k.length).putShort(e + 10, (short) v.length);
    }
    return l.array();
  }

  /** BAT entry {@code index}: the state in bits 0-2, the offset in MiB from bit 20. */
  public VhdxBuilder bat(long batOffset, long index, int state, long fileOffset) {
    b.putLong((int) (batOffset + 8 * index), (fileOffset / MIB << 20) | state);
    return this;
  }

  /** Sets the bits of sectors {@code [from, to)} (bit 0 of byte 0 is sector 0). */
  public VhdxBuilder bitmap(long bitmapOffset, long from, long to) {
    for (long s = from; s < to; s++) {
      int at = (int) (bitmapOffset + s / 8);
      b.put(at, (byte) (b.get(at) | 1 << (s % 8)));
    }
    return this;
  }

  public VhdxBuilder data(long offset, byte[] bytes) {
    b.put((int) offset, bytes);
    return this;
  }

  /** One update of a log entry: a 4 KiB page for {@code fileOffset}, or zeros when null. */
  public record Update(long fileOffset, long zeroLength, byte[] page) {
    public static Update page(long fileOffset, byte[] page) {
      return new Update(fileOffset, 0, page);
    }

    public static Update zero(long fileOffset, long length) {
      return new Update(fileOffset, length, null);
    }
  }

  /**
   * A log entry at {@code position} of the log at {@code logOffset} (wrapping at {@code
   * logLength}): header and descriptors, then one data sector per page whose first 8 and last 4
   * bytes go into its descriptor; the checksum over the whole entry.
   *
   * @return the entry's length in bytes
   */
  public int logEntry(long logOffset, long logLength, long position, long sequence, long tail,
      UUID guid, long flushed, long last, List<Update> updates) {
    int descSectors = (64 + 32 * updates.size() + 4095) / 4096;
    int dataSectors = (int) updates.stream().filter(u -> u.page() != null).count();
    int length = (descSectors + dataSectors) * 4096;
    ByteBuffer e = le(length);
    e.putInt(0, 0x65676F6C); // "loge"
    e.putInt(8, length);
    e.putInt(12, (int) tail);
    e.putLong(16, sequence);
    e.putInt(24, updates.size());
    guid(e, 32, guid);
    e.putLong(48, flushed);
    e.putLong(56, last);
    int desc = 64;
    int data = descSectors * 4096;
    for (Update u : updates) {
      if (u.page() == null) {
        e.putInt(desc, 0x6F72657A); // "zero"
        e.putLong(desc + 8, u.zeroLength());
      } else {
        ByteBuffer p = ByteBuffer.wrap(u.page()).order(ByteOrder.LITTLE_ENDIAN);
        e.putInt(desc, 0x63736564); // "desc"
        e.putInt(desc + 4, p.getInt(4092));
        e.putLong(desc + 8, p.getLong(0));
        e.putInt(data, 0x61746164); // "data"
        e.putInt(data + 4, (int) (sequence >>> 32));
        e.put(data + 8, u.page(), 8, 4084);
        e.putInt(data + 4092, (int) sequence);
        data += 4096;
      }
      e.putLong(desc + 16, u.fileOffset());
      e.putLong(desc + 24, sequence);
      desc += 32;
    }
    e.putInt(4, crc(e, 0, length));
    for (int i = 0; i < length; i += 4096) {
      b.put((int) (logOffset + (position + i) % logLength), e.array(), i, 4096);
    }
    return length;
  }

  /** The 4 KiB page of the file at {@code offset}, as it is now. */
  public byte[] page(long offset) {
    byte[] p = new byte[4096];
    b.get((int) offset, p);
    return p;
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }
}
