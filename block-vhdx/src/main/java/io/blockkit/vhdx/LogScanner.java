package io.blockkit.vhdx;

import io.blockkit.vhdx.LogEntry.Descriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Finds the log's active sequence as the specification describes it: from every 4 KiB position
 * (wrapping), entries are chained while each is valid and its sequence number is one more than the
 * previous; a chain whose last entry's tail lies inside it is a valid sequence, and the valid one
 * with the highest last sequence number is active. Only the entries from its tail on are replayed.
 *
 * <p>An entry is valid when its signature, length, tail, sequence number, log GUID, every
 * descriptor (signature, alignment, sequence number), every data sector (signature, split sequence
 * number) and its checksum agree, and when its updates stay clear of the file identifier, the
 * headers and the log itself and below {@link Layout#MAX_FILE_OFFSET}: an entry that would write
 * there is no update this driver replays. Each position is validated at most once, and an entry is
 * read a sector at a time, so memory stays bounded by the descriptors of one log.
 */
final class LogScanner {
  private final ImageFile file;
  private final long logOffset;
  private final long logLength;
  private final UUID guid;
  private final Map<Long, Optional<LogEntry>> seen = new HashMap<>();
  private final ByteBuffer sector = ByteBuffer.allocate(Layout.PAGE).order(ByteOrder.LITTLE_ENDIAN);

  private LogScanner(ImageFile file, long logOffset, long logLength, UUID guid) {
    this.file = file;
    this.logOffset = logOffset;
    this.logLength = logLength;
    this.guid = guid;
  }

  /**
   * The entries to replay (the active sequence from its tail entry to its head entry), or empty
   * when the log holds no valid sequence for {@code guid}.
   */
  static List<LogEntry> activeSequence(ImageFile file, long logOffset, long logLength,
      UUID guid) throws IOException {
    return new LogScanner(file, logOffset, logLength, guid).scan();
  }

  private List<LogEntry> scan() throws IOException {
    List<LogEntry> best = List.of();
    long bestSequence = 0;
    long tail = 0;
    long oldTail = 0;
    while (true) {
      List<LogEntry> current = new ArrayList<>();
      long head = tail;
      long covered = 0;
      while (covered < logLength) {
        Optional<LogEntry> e = entryAt(head);
        if (e.isEmpty() || !current.isEmpty()
            && e.get().sequence() != current.get(current.size() - 1).sequence() + 1) {
          break;
        }
        current.add(e.get());
        covered += e.get().length();
        head = (head + e.get().length()) % logLength;
      }
      int from = current.isEmpty() ? -1 : indexOfTail(current);
      boolean valid = from >= 0 && covered <= logLength;
      if (valid && current.get(current.size() - 1).sequence() > bestSequence) {
        best = List.copyOf(current.subList(from, current.size()));
        bestSequence = current.get(current.size() - 1).sequence();
      }
      tail = valid ? head : (tail + Layout.PAGE) % logLength;
      if (tail < oldTail || tail == oldTail && valid) {
        return best;
      }
      oldTail = tail;
    }
  }

  /** Where in {@code seq} its last entry's tail starts, or -1 when it is not in it. */
  private static int indexOfTail(List<LogEntry> seq) {
    long tail = seq.get(seq.size() - 1).tail();
    for (int i = 0; i < seq.size(); i++) {
      if (seq.get(i).position() == tail) {
        return i;
      }
    }
    return -1;
  }

  private Optional<LogEntry> entryAt(long position) throws IOException {
    Optional<LogEntry> e = seen.get(position);
    if (e == null) {
      e = Optional.ofNullable(parse(position));
      seen.put(position, e);
    }
    return e;
  }

  /** Reads the 4 KiB log sector at {@code position} (relative to the log, wrapping) into {@link #sector}. */
  private ByteBuffer readSector(long position) throws IOException {
    sector.clear();
    file.read(logOffset + position % logLength, sector);
    sector.flip();
    return sector;
  }

  private LogEntry parse(long position) throws IOException {
    ByteBuffer first = readSector(position);
    if (first.getInt(0) != LogEntry.SIGNATURE || !Guids.get(first, 32).equals(guid)) {
      return null;
    }
    long length = Integer.toUnsignedLong(first.getInt(8));
    long tail = Integer.toUnsignedLong(first.getInt(12));
    long sequence = first.getLong(16);
    long count = Integer.toUnsignedLong(first.getInt(24));
    long flushed = first.getLong(48);
    long last = first.getLong(56);
    long sectors = length / Layout.PAGE;
    long descSectors = LogEntry.descriptorSectors(count);
    if (length % Layout.PAGE != 0 || length == 0 || length > logLength
        || tail % Layout.PAGE != 0 || tail >= logLength || sequence == 0
        || descSectors > sectors || last < 0 || last > Layout.MAX_FILE_OFFSET) {
      return null;
    }
    int storedChecksum = first.getInt(LogEntry.CHECKSUM_FIELD);
    CRC32C crc = new CRC32C();
    List<Descriptor> descriptors = new ArrayList<>();
    long dataSectors = 0;
    for (long s = 0; s < sectors; s++) {
      ByteBuffer b = readSector(position + s * Layout.PAGE);
      if (s == 0) {
        b.putInt(LogEntry.CHECKSUM_FIELD, 0);
      }
      crc.update(b.duplicate());
      if (s < descSectors) {
        int from = s == 0 ? LogEntry.HEADER_BYTES : 0;
        for (int at = from; at < Layout.PAGE && descriptors.size() < count;
            at += LogEntry.DESCRIPTOR_BYTES) {
          Descriptor d = descriptor(b, at, sequence, descSectors + dataSectors, position);
          if (d == null) {
            return null;
          }
          if (!d.zero()) {
            dataSectors++;
          }
          descriptors.add(d);
        }
      } else if (s < descSectors + dataSectors) {
        if (b.getInt(0) != LogEntry.DATA_SIGNATURE || b.getInt(4) != (int) (sequence >>> 32)
            || b.getInt(Layout.PAGE - 4) != (int) sequence) {
          return null;
        }
      }
    }
    if (descSectors + dataSectors > sectors || (int) crc.getValue() != storedChecksum) {
      return null;
    }
    return new LogEntry(position, length, tail, sequence, flushed, last, List.copyOf(descriptors));
  }

  /**
   * The descriptor at {@code at} of a descriptor sector, or null when it is invalid; a data
   * descriptor's data sector is the {@code dataIndex}-th sector of the entry.
   */
  private Descriptor descriptor(ByteBuffer b, int at, long sequence, long dataIndex,
      long entryPosition) {
    int signature = b.getInt(at);
    long offset = b.getLong(at + 16);
    if (b.getLong(at + 24) != sequence || offset % Layout.PAGE != 0) {
      return null;
    }
    Descriptor d;
    if (signature == LogEntry.ZERO_SIGNATURE) {
      long length = b.getLong(at + 8);
      if (length <= 0 || length % Layout.PAGE != 0) {
        return null;
      }
      d = new Descriptor(true, offset, length, -1, 0, 0);
    } else if (signature == LogEntry.DESC_SIGNATURE) {
      d = new Descriptor(false, offset, Layout.PAGE,
          (entryPosition + dataIndex * Layout.PAGE) % logLength, b.getLong(at + 8),
          b.getInt(at + 4));
    } else {
      return null;
    }
    boolean clear = offset >= Layout.LOGGED_FROM && d.length() <= Layout.MAX_FILE_OFFSET
        && offset <= Layout.MAX_FILE_OFFSET - d.length()
        && (d.end() <= logOffset || offset >= logOffset + logLength);
    return clear ? d : null;
  }
}
