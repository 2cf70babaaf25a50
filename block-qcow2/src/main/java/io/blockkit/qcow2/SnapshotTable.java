package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.SnapshotInfo;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The internal snapshot table: one entry per snapshot (its L1 table, id, name, date, VM clock,
 * VM state size and, in the extra data, the disk size and instruction count), each padded to 8
 * bytes. Read and validated entry by entry, never sized from an unchecked field.
 */
final class SnapshotTable {
  /** qemu's limits: extra data per entry and the table's total size. */
  static final int MAX_EXTRA = 1024;
  static final long MAX_TABLE_BYTES = 64L << 20;
  private static final int FIXED = 40;

  /**
   * One snapshot.
   *
   * @param diskSize the virtual size when it was taken (the image's size when not recorded)
   */
  record Snapshot(SnapshotInfo info, long l1Offset, int l1Size, long diskSize) {}

  private final List<Snapshot> snapshots;
  /** Bytes the table occupies from the header's offset. */
  private final long bytes;

  private SnapshotTable(List<Snapshot> snapshots, long bytes) {
    this.snapshots = List.copyOf(snapshots);
    this.bytes = bytes;
  }

  static SnapshotTable empty() {
    return new SnapshotTable(List.of(), 0);
  }

  List<Snapshot> snapshots() {
    return snapshots;
  }

  long bytes() {
    return bytes;
  }

  /** Reads the table a validated header names. */
  static SnapshotTable read(String location, BlockDevice file, Qcow2Header h, long fileLength)
      throws IOException {
    if (h.nbSnapshots == 0) {
      return empty();
    }
    List<Snapshot> out = new ArrayList<>();
    long at = h.snapshotsOffset;
    Layout layout = h.layout();
    for (int i = 0; i < h.nbSnapshots; i++) {
      String what = "snapshot table entry " + i;
      if (at + FIXED > fileLength || at - h.snapshotsOffset + FIXED > MAX_TABLE_BYTES) {
        throw new CorruptImageException(location, what, at, "past the end of the file or of "
            + "64 MiB of table", "a table inside the file (header.nb_snapshots = "
            + h.nbSnapshots + ")");
      }
      ByteBuffer f = ByteBuffer.allocate(FIXED);
      file.read(at, f);
      long l1Offset = f.getLong(0);
      long l1Size = Integer.toUnsignedLong(f.getInt(8));
      int idLen = f.getShort(12) & 0xffff;
      int nameLen = f.getShort(14) & 0xffff;
      long seconds = Integer.toUnsignedLong(f.getInt(16));
      long nanos = Integer.toUnsignedLong(f.getInt(20));
      long vmClock = f.getLong(24);
      long vmState = Integer.toUnsignedLong(f.getInt(32));
      long extraLen = Integer.toUnsignedLong(f.getInt(36));
      if (extraLen > MAX_EXTRA) {
        throw new CorruptImageException(location, what + " extra_data_size", at + 36,
            Long.toString(extraLen), "at most " + MAX_EXTRA + " bytes");
      }
      long varLen = extraLen + idLen + nameLen;
      if (at + FIXED + varLen > fileLength) {
        throw new CorruptImageException(location, what, at, FIXED + varLen + " bytes long",
            "an entry inside the file");
      }
      ByteBuffer v = ByteBuffer.allocate((int) varLen);
      file.read(at + FIXED, v);
      if (l1Size > Qcow2Header.MAX_L1_BYTES / 8 || (l1Offset & (layout.clusterSize - 1)) != 0
          || (l1Size > 0 && (l1Offset < layout.clusterSize
              || l1Offset > fileLength - 8 * l1Size))) {
        throw new CorruptImageException(location, what + " L1 table", at, l1Offset + " ("
            + l1Size + " entries)", "a cluster-aligned table of at most 4194304 entries inside "
            + "the file");
      }
      long diskSize = extraLen >= 16 ? v.getLong(8) : h.size;
      if (extraLen >= 8) {
        vmState = v.getLong(0);
      }
      long icount = extraLen >= 24 ? v.getLong(16) : -1;
      if (diskSize < 0 || layout.l1EntriesFor(diskSize) > l1Size) {
        throw new CorruptImageException(location, what + " disk size", at + FIXED + 8,
            Long.toString(diskSize), "a size its L1 table of " + l1Size + " entries covers");
      }
      String id = text(v, (int) extraLen, idLen);
      String name = text(v, (int) extraLen + idLen, nameLen);
      Instant date = Instant.ofEpochSecond(seconds, Math.min(nanos, 999_999_999));
      out.add(new Snapshot(new SnapshotInfo(id, name, vmState, date, vmClock, icount), l1Offset,
          (int) l1Size, diskSize));
      at += (FIXED + varLen + 7) & ~7L;
    }
    return new SnapshotTable(out, at - h.snapshotsOffset);
  }

  private static String text(ByteBuffer b, int at, int len) {
    byte[] raw = new byte[len];
    b.get(at, raw);
    return new String(raw, StandardCharsets.UTF_8);
  }

  /** The snapshot with this id or name (id first, as qemu looks them up), or null. */
  Snapshot find(String idOrName) {
    for (Snapshot s : snapshots) {
      if (s.info().id().equals(idOrName)) {
        return s;
      }
    }
    for (Snapshot s : snapshots) {
      if (s.info().name().equals(idOrName)) {
        return s;
      }
    }
    return null;
  }
}
