package io.blockkit.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * An independent reader of the stream-optimized layout VMware's tools (ESXi, vSphere, ovftool)
 * require, written from VMware's "Virtual Disk Format 5.0" description and sharing no code with
 * the driver. It walks the file front to back as a streaming consumer does and lists every
 * departure: version 3 header with the compressed and markers flags (bits 16 and 17), deflate
 * compression, gdOffset = GD_AT_END (0xFFFFFFFFFFFFFFFF) in the header; from the overhead on only
 * sector-aligned markers: grain markers (LBA, compressed size, zlib data) in increasing LBA
 * order, GT markers each followed by a grain table, one GD marker followed by the grain
 * directory, a footer marker followed by the footer (the header again with the real gdOffset,
 * which points just past the GD marker), and an end-of-stream marker as the file's last sector.
 * Every GD and GT entry must point at what the stream holds.
 */
final class StreamLayoutValidator {
  private static final int SECTOR = 512;

  private StreamLayoutValidator() {}

  /** The departures from the layout; empty when the file is a canonical stream. */
  static List<String> check(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    List<String> problems = new ArrayList<>();
    if (all.length < 4 * SECTOR || all.length % SECTOR != 0) {
      problems.add("file length " + all.length + " is not a whole number of sectors (>= 4)");
      return problems;
    }
    if (b.getInt(0) != 0x564d444b) {
      problems.add("no KDMV magic");
      return problems;
    }
    int version = b.getInt(4);
    int flags = b.getInt(8);
    long capacity = b.getLong(12);
    long grain = b.getLong(20);
    long descOffset = b.getLong(28);
    long descSize = b.getLong(36);
    int gtes = b.getInt(44);
    long gdOffset = b.getLong(56);
    long overhead = b.getLong(64);
    int compression = Short.toUnsignedInt(b.getShort(77));
    if (version != 3) {
      problems.add("header version is " + version + ", not 3");
    }
    if ((flags & (1 << 16)) == 0 || (flags & (1 << 17)) == 0) {
      problems.add(String.format("header flags 0x%x lack compressed grains (bit 16) or markers "
          + "(bit 17)", flags));
    }
    if (compression != 1) {
      problems.add("compressAlgorithm is " + compression + ", not 1 (deflate)");
    }
    if (gdOffset != -1L) {
      problems.add("header gdOffset is " + gdOffset + ", not GD_AT_END (0xFFFFFFFFFFFFFFFF)");
    }
    if (b.get(73) != '\n' || b.get(74) != ' ' || b.get(75) != '\r' || b.get(76) != '\n') {
      problems.add("newline check bytes are wrong");
    }
    String descriptor = new String(all, (int) (descOffset * SECTOR),
        (int) Math.min(descSize * SECTOR, all.length - descOffset * SECTOR),
        StandardCharsets.US_ASCII);
    if (!descriptor.contains("createType=\"streamOptimized\"")) {
      problems.add("the embedded descriptor does not say createType=\"streamOptimized\"");
    }
    if (overhead * SECTOR > all.length || descOffset + descSize > overhead) {
      problems.add("overhead " + overhead + " does not follow the descriptor inside the file");
      return problems;
    }
    walk(b, all.length, overhead, grain, gtes, capacity, problems);
    return problems;
  }

  private static void walk(ByteBuffer b, int length, long overhead, long grain, int gtes,
      long capacity, List<String> problems) {
    Map<Long, Long> grainAt = new HashMap<>(); // sector -> LBA
    Map<Long, int[]> tableAt = new HashMap<>(); // sector of the table -> entries
    long lastLba = -1;
    long gdSector = -1;
    int[] gd = null;
    long footerGd = 0;
    boolean footer = false;
    boolean eos = false;
    long s = overhead;
    while (s * SECTOR < length) {
      int at = (int) (s * SECTOR);
      long val = b.getLong(at);
      int size = b.getInt(at + 8);
      if (footer && !(size == 0 && b.getInt(at + 12) == 0)) {
        problems.add("the footer is not followed by the end-of-stream marker");
        break;
      }
      if (size != 0) {
        if (gd != null) {
          problems.add("grain marker at sector " + s + " after the grain directory");
        }
        if (val <= lastLba || val % grain != 0 || val >= capacity) {
          problems.add("grain marker at sector " + s + " has LBA " + val + " (after " + lastLba
              + ", capacity " + capacity + ")");
        }
        if (at + 12L + size > length) {
          problems.add("grain at sector " + s + " runs past the end of the file");
          break;
        }
        String inflated = inflate(b.array(), at + 12, size, (int) (grain * SECTOR));
        if (inflated != null) {
          problems.add("grain at sector " + s + ": " + inflated);
        }
        grainAt.put(s, val);
        lastLba = val;
        s += (12 + size + SECTOR - 1) / SECTOR;
        continue;
      }
      int type = b.getInt(at + 12);
      switch (type) {
        case 0 -> {
          if (val != 0) {
            problems.add("end-of-stream marker at sector " + s + " has value " + val);
          }
          if ((s + 1) * SECTOR != length) {
            problems.add("an all-zero sector (an end-of-stream marker) at sector " + s
                + ", before the end of the file");
          } else if (!footer) {
            problems.add("end-of-stream marker at sector " + s + " without a footer before it");
          } else {
            eos = true;
          }
          s++;
        }
        case 1 -> {
          int[] gt = ints(b, (s + 1) * SECTOR, gtes);
          if (val * SECTOR < 4L * gtes) {
            problems.add("GT marker at sector " + s + " announces " + val + " sectors");
          }
          tableAt.put(s + 1, gt);
          s += 1 + val;
        }
        case 2 -> {
          if (gd != null) {
            problems.add("a second GD marker at sector " + s);
          }
          long entries = (capacity + (long) gtes * grain - 1) / ((long) gtes * grain);
          gd = ints(b, (s + 1) * SECTOR, (int) entries);
          gdSector = s + 1;
          s += 1 + val;
        }
        case 3 -> {
          if (gd == null) {
            problems.add("footer marker at sector " + s + " before any GD marker");
          }
          ByteBuffer f = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
          int fa = (int) ((s + 1) * SECTOR);
          if (f.getInt(fa) != 0x564d444b || f.getInt(fa + 4) != 3) {
            problems.add("the footer is not a version 3 header");
          }
          footerGd = f.getLong(fa + 56);
          footer = true;
          s += 2;
        }
        default -> {
          problems.add("unknown marker type " + type + " at sector " + s);
          return;
        }
      }
    }
    if (gd == null) {
      problems.add("no GD marker and grain directory after the grains");
    }
    if (!footer) {
      problems.add("no footer marker and footer");
    } else if (footerGd != gdSector) {
      problems.add("the footer's gdOffset is " + footerGd + ", the grain directory is at "
          + gdSector);
    }
    if (!eos) {
      problems.add("no end-of-stream marker at the end of the file");
    }
    if (gd != null) {
      checkTables(gd, tableAt, grainAt, gtes, grain, problems);
    }
  }

  private static void checkTables(int[] gd, Map<Long, int[]> tableAt, Map<Long, Long> grainAt,
      int gtes, long grain, List<String> problems) {
    long referenced = 0;
    for (int i = 0; i < gd.length; i++) {
      if (gd[i] == 0) {
        continue;
      }
      int[] gt = tableAt.get(Integer.toUnsignedLong(gd[i]));
      if (gt == null) {
        problems.add("GD entry " + i + " points to sector " + gd[i] + ", where no GT marker's "
            + "table is");
        continue;
      }
      for (int j = 0; j < gt.length; j++) {
        if (gt[j] == 0) {
          continue;
        }
        Long lba = grainAt.get(Integer.toUnsignedLong(gt[j]));
        long expected = ((long) i * gtes + j) * grain;
        if (lba == null || lba != expected) {
          problems.add("GT " + i + " entry " + j + " points to sector " + gt[j]
              + ", which holds no grain marker for LBA " + expected);
        }
        referenced++;
      }
    }
    if (referenced != grainAt.size()) {
      problems.add(grainAt.size() + " grain markers but " + referenced + " table entries");
    }
  }

  private static int[] ints(ByteBuffer b, long at, int n) {
    int[] out = new int[n];
    for (int i = 0; i < n && at + 4L * i + 4 <= b.limit(); i++) {
      out[i] = b.getInt((int) (at + 4L * i));
    }
    return out;
  }

  /** Why the zlib stream does not inflate to at most one grain, or null. */
  private static String inflate(byte[] data, int off, int len, int grainBytes) {
    if (len < 2 || (data[off] & 0x0f) != 8 || ((data[off] & 0xff) << 8 | data[off + 1] & 0xff)
        % 31 != 0) {
      return "not zlib-wrapped (RFC 1950) deflate data";
    }
    Inflater inf = new Inflater();
    try {
      inf.setInput(data, off, len);
      byte[] out = new byte[grainBytes + 1];
      int n = inf.inflate(out);
      if (!inf.finished() || n > grainBytes) {
        return "inflates to more than a grain or not to the end";
      }
      return null;
    } catch (DataFormatException e) {
      return "bad zlib data: " + e.getMessage();
    } finally {
      inf.end();
    }
  }
}
