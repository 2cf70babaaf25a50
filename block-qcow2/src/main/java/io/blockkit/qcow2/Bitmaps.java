package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Persistent dirty bitmaps (the bitmaps extension), which blockkit keeps but does not update:
 * their directory, tables and data clusters stay allocated and counted, and before the first
 * write every bitmap is flagged {@code in_use}, which is how qemu marks a bitmap it could not keep
 * up to date (qemu then reports it as inconsistent and never trusts it; {@code qemu-img check}
 * stays clean). A directory that breaks the rules is treated like one a program without bitmap
 * support left behind: ignored, and dropped from the header at the first write (its clusters then
 * show up as leaks, as qemu reports them).
 */
final class Bitmaps {
  static final int MAX_BITMAPS = 65535;
  static final long MAX_DIRECTORY = 64L << 20;
  static final int IN_USE = 1;
  private static final int ENTRY_FIXED = 24;

  /** One bitmap's directory entry. */
  record Bitmap(String name, long entryOffset, long tableOffset, int tableSize, int flags,
      int type, int granularityBits) {}

  private final long directoryOffset;
  private final long directorySize;
  private final List<Bitmap> bitmaps;
  /** Why the extension is not used, or null when it is. */
  private final String ignored;

  private Bitmaps(long directoryOffset, long directorySize, List<Bitmap> bitmaps,
      String ignored) {
    this.directoryOffset = directoryOffset;
    this.directorySize = directorySize;
    this.bitmaps = List.copyOf(bitmaps);
    this.ignored = ignored;
  }

  static Bitmaps none() {
    return new Bitmaps(0, 0, List.of(), null);
  }

  /** Reads the directory of a header's bitmaps extension, if it has one that is consistent. */
  static Bitmaps read(BlockDevice file, Qcow2Header h, long fileLength) throws IOException {
    if (h.bitmapsExtension == null) {
      return none();
    }
    if ((h.autoclear & Features.BITMAPS) == 0) {
      return new Bitmaps(0, 0, List.of(), "the bitmaps autoclear bit is clear: a program without "
          + "bitmap support wrote the image");
    }
    ByteBuffer ext = ByteBuffer.wrap(h.bitmapsExtension);
    long nb = Integer.toUnsignedLong(ext.getInt(0));
    long size = ext.getLong(8);
    long offset = ext.getLong(16);
    long cs = h.clusterSize();
    if (nb == 0 || nb > MAX_BITMAPS || ext.getInt(4) != 0 || size < 0 || size > MAX_DIRECTORY
        || (offset & (cs - 1)) != 0 || offset < cs || offset > fileLength - size) {
      return new Bitmaps(0, 0, List.of(), "the bitmaps extension is invalid (" + nb
          + " bitmaps, directory of " + size + " bytes at " + offset + ")");
    }
    ByteBuffer dir = ByteBuffer.allocate((int) size);
    file.read(offset, dir);
    List<Bitmap> out = new ArrayList<>();
    int at = 0;
    for (long i = 0; i < nb; i++) {
      if (at + ENTRY_FIXED > size) {
        return new Bitmaps(0, 0, List.of(), "bitmap directory entry " + i + " is cut off");
      }
      long table = dir.getLong(at);
      long tableSize = Integer.toUnsignedLong(dir.getInt(at + 8));
      int flags = dir.getInt(at + 12);
      int type = dir.get(at + 16) & 0xff;
      int gran = dir.get(at + 17) & 0xff;
      int nameLen = dir.getShort(at + 18) & 0xffff;
      long extra = Integer.toUnsignedLong(dir.getInt(at + 20));
      long len = ENTRY_FIXED + extra + nameLen;
      if (at + len > size || (table & (cs - 1)) != 0 || tableSize * 8 > fileLength
          || (tableSize > 0 && (table < cs || table > fileLength - tableSize * 8))) {
        return new Bitmaps(0, 0, List.of(), "bitmap directory entry " + i + " is invalid");
      }
      byte[] name = new byte[nameLen];
      dir.get(at + ENTRY_FIXED + (int) extra, name);
      out.add(new Bitmap(new String(name, StandardCharsets.UTF_8), offset + at, table,
          (int) tableSize, flags, type, gran));
      at += (int) ((len + 7) & ~7L);
    }
    return new Bitmaps(offset, size, out, null);
  }

  List<Bitmap> bitmaps() {
    return bitmaps;
  }

  /** Why the extension is ignored, or null. */
  String ignored() {
    return ignored;
  }

  long directoryOffset() {
    return directoryOffset;
  }

  long directorySize() {
    return directorySize;
  }

  /** Flags every bitmap {@code in_use} (qemu's "inconsistent") and flushes; returns how many. */
  int markInUse(BlockDevice file) throws IOException {
    int n = 0;
    for (Bitmap b : bitmaps) {
      if ((b.flags() & IN_USE) == 0) {
        file.write(b.entryOffset() + 12, ByteBuffer.allocate(4).putInt(0, b.flags() | IN_USE));
        n++;
      }
    }
    if (n > 0) {
      file.flush();
    }
    return n;
  }

  /** The host clusters of the bitmap tables and data (for check), as offsets. */
  List<Long> dataClusters(BlockDevice file, long clusterSize) throws IOException {
    List<Long> out = new ArrayList<>();
    for (Bitmap b : bitmaps) {
      ByteBuffer t = ByteBuffer.allocate(b.tableSize() * 8);
      file.read(b.tableOffset(), t);
      for (int i = 0; i < b.tableSize(); i++) {
        long off = t.getLong(i * 8) & Layout.OFFSET_MASK;
        if (off != 0) {
          out.add(off);
        }
      }
    }
    return out;
  }

  /** The bitmaps as {@code qemu-img info} lists them. */
  List<Map<String, Object>> describe() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Bitmap b : bitmaps) {
      Map<String, Object> m = new LinkedHashMap<>();
      List<String> flags = new ArrayList<>();
      if ((b.flags() & IN_USE) != 0) {
        flags.add("in-use");
      }
      if ((b.flags() & 2) != 0) {
        flags.add("auto");
      }
      m.put("flags", flags);
      m.put("name", b.name());
      m.put("granularity", 1L << Math.min(63, b.granularityBits()));
      out.add(m);
    }
    return out;
  }
}
