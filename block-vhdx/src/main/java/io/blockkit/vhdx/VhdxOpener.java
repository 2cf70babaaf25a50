package io.blockkit.vhdx;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.vhdx.LogEntry.Descriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Opens an image: the file identifier, the current header, the log (replayed onto the file for a
 * read-write open, in memory for a read-only one), the region table, the metadata, the BAT's
 * size, the space map of a writable open, and the parent of a differencing image.
 */
final class VhdxOpener {
  private VhdxOpener() {}

  static VhdxImage open(VhdxDriver driver, OpenRequest request, int pageLimit)
      throws IOException {
    BlockDevice child = request.child();
    if (child == null) {
      throw new InvalidOptionException("The vhdx format needs a child node (a file) to open");
    }
    String location = request.location();
    long length = child.size();
    ByteBuffer id = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    if (length >= 8) {
      child.read(0, id);
    }
    if (length < 8 || id.getLong(0) != Layout.FILE_SIGNATURE) {
      throw new CorruptImageException(location, "file type identifier", 0,
          length < 8 ? "missing (the file has " + length + " bytes)" : "not \"vhdxfile\"",
          "\"vhdxfile\": this is not a VHDX image");
    }
    Headers headers = Headers.read(child, location);
    VhdxHeader h = headers.current();
    checkHeader(h, location, headers.currentOffset(), length);

    String logNote = null;
    ImageFile file = null;
    if (h.hasLog()) {
      ImageFile raw = ImageFile.of(child);
      List<LogEntry> entries = LogScanner.activeSequence(raw, h.logOffset(), h.logLength(),
          h.logGuid());
      if (entries.isEmpty()) {
        logNote = "the header names log " + h.logGuid() + ", but the log holds no valid entry "
            + "of it: nothing to replay";
        request.warnings().accept("WARNING: VHDX image '" + location + "': " + logNote);
      } else {
        LogEntry head = entries.get(entries.size() - 1);
        if (length < head.flushedFileOffset()) {
          throw new CorruptImageException(location, "file length", -1, length + " bytes",
              "at least " + head.flushedFileOffset() + ", which the log's newest entry (sequence "
                  + head.sequence() + ") records as durable: the file was truncated");
        }
        String range = entries.size() + " log entr" + (entries.size() == 1 ? "y" : "ies")
            + " (sequence " + entries.get(0).sequence() + ".." + head.sequence() + ")";
        if (request.readOnly()) {
          file = replayInMemory(raw, h, entries, length);
          logNote = range + " not replayed in the file yet: replayed in memory for this "
              + "read-only open";
        } else {
          replay(raw, headers, entries, length);
          logNote = range + " replayed into the file when it was opened";
        }
      }
    }

    if (file == null) {
      file = ImageFile.of(child); // after a replay, which may have grown it
    }
    // A region cut short by the end of the file reads zeros there: check reports a BAT cut
    // short; the metadata table and items must be inside (Metadata.read).
    RegionTable regions = RegionTable.read(file, location, headers.current());
    Metadata md = Metadata.read(file, location, regions.metadata());
    Geometry g = new Geometry(md.virtualSize(), md.blockSize(), md.logicalSectorSize(),
        md.hasParent());
    if (regions.bat().length() / 8 < g.entries()) {
      throw new CorruptImageException(location, "BAT region length", -1,
          regions.bat().length() + " bytes", "room for the " + g.entries() + " entries a "
              + md.virtualSize() + "-byte disk of " + md.blockSize() + "-byte blocks needs");
    }
    PageCache pages = new PageCache(file, pageLimit);
    SpaceMap space = request.readOnly() ? null : spaceMap(file, headers.current(), regions, g);
    ParentLink parent = md.hasParent() ? ParentLink.open(request, md, location) : null;
    try {
      return new VhdxImage(driver, location, request.readOnly(), child,
          parent != null ? parent.backing() : null, parent != null ? parent.link() : null,
          file, headers, regions, md, pages, space, logNote);
    } catch (RuntimeException e) {
      if (parent != null && parent.backing() != null) {
        parent.backing().close();
      }
      throw e;
    }
  }

  private static void checkHeader(VhdxHeader h, String location, long at, long length)
      throws IOException {
    if (h.version() != 1) {
      throw new UnsupportedFeatureException("VHDX image '" + location + "' has format version "
          + h.version() + " (header at offset " + at + "); this driver reads version 1");
    }
    if (h.hasLog() && h.logVersion() != 0) {
      throw new UnsupportedFeatureException("VHDX image '" + location + "' has a log of version "
          + h.logVersion() + " to replay (header at offset " + at + "); this driver replays "
          + "version 0");
    }
    if (h.logOffset() < Layout.HEADER_SECTION || h.logOffset() % Layout.MIB != 0
        || h.logLength() < Layout.MIB || h.logLength() % Layout.MIB != 0
        || h.logOffset() > Layout.MAX_FILE_OFFSET - h.logLength()) {
      throw new CorruptImageException(location, "header log location", at + 68, "offset "
          + Long.toUnsignedString(h.logOffset()) + ", length " + h.logLength(), "a log of a "
          + "multiple of 1 MiB (at least 1 MiB) at a multiple of 1 MiB from 1 MiB on");
    }
  }

  /** The file with the log's updates laid over it in memory, and as long as the log says. */
  private static ImageFile replayInMemory(ImageFile raw, VhdxHeader h,
      List<LogEntry> entries, long length) {
    Overlay overlay = new Overlay(raw, h.logOffset());
    for (LogEntry e : entries) {
      for (Descriptor d : e.descriptors()) {
        overlay.add(d);
      }
    }
    long last = entries.get(entries.size() - 1).lastFileOffset();
    return new ImageFile(raw.child(), overlay, length, Math.max(last, overlay.end()));
  }

  /**
   * Replays the log onto the file: a new FileWriteGuid first (the log stays named, so a crash
   * here replays again), every update in order, the file grown to the newest entry's
   * LastFileOffset, a flush, then a header without a LogGuid.
   */
  private static void replay(ImageFile file, Headers headers, List<LogEntry> entries,
      long length) throws IOException {
    VhdxHeader h = headers.current();
    headers.update(file.child(), h.next(Guids.random(), h.dataWriteGuid(), h.logGuid()));
    long end = length;
    for (LogEntry e : entries) {
      for (Descriptor d : e.descriptors()) {
        if (d.zero()) {
          file.writeZeroes(d.fileOffset(), d.length());
        } else {
          ByteBuffer sector = file.read(h.logOffset() + d.dataPosition(), Layout.PAGE);
          file.write(d.fileOffset(), LogEntry.page(d, sector));
        }
        end = Math.max(end, d.end());
      }
    }
    long last = entries.get(entries.size() - 1).lastFileOffset();
    if (last > end) {
      file.writeZeroes(end, last - end);
    }
    file.flush();
    VhdxHeader replayed = headers.current();
    headers.update(file.child(), replayed.next(replayed.fileWriteGuid(),
        replayed.dataWriteGuid(), Guids.NULL));
  }

  /** Every MiB of the file a structure uses, for placing new blocks. */
  private static SpaceMap spaceMap(ImageFile file, VhdxHeader h, RegionTable regions,
      Geometry g) throws IOException {
    SpaceMap space = new SpaceMap(file.length());
    space.use(0, Layout.HEADER_SECTION);
    space.use(h.logOffset(), h.logLength());
    for (RegionTable.Region r : regions.entries()) {
      space.use(r.offset(), r.length());
    }
    long ratio = g.chunkRatio();
    BatScan.forEach(file, regions.bat().offset(), regions.bat().length() / 8, (i, e) -> {
      boolean bitmap = i % (ratio + 1) == ratio;
      long offset = BatState.offset(e);
      if (offset != 0 && (bitmap ? BatState.state(e) != BatState.SB_NOT_PRESENT
          : BatState.state(e) != BatState.NOT_PRESENT && BatState.state(e) != BatState.ZERO)) {
        space.use(offset, bitmap ? Layout.BITMAP_BLOCK : g.blockSize());
      }
    });
    return space;
  }
}
