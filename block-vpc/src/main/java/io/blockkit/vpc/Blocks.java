package io.blockkit.vpc;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Extent;
import io.blockkit.api.error.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The data of a dynamic or differencing image, and the parts that hold it: the BAT ({@link Bat}),
 * the sector bitmaps ({@link Bitmaps}), the file's space ({@link FileSpace}: where new blocks go,
 * which blocks may be written), reads ({@link BlockReader}), writes ({@link BlockWriter}) and
 * metadata commits ({@link Commits}). The package documentation has the write order and the crash
 * model; each part's javadoc its share of it. The caller ({@link VpcImage}) holds its layout lock
 * shared around every call here and exclusively while a check moves blocks.
 */
final class Blocks {
  /** What unallocated sectors read as: the parent's bytes, or zeros. */
  @FunctionalInterface
  interface Parent {
    void read(long offset, ByteBuffer dst) throws IOException;
  }

  final VpcFile layout;
  final Bat bat;
  final Bitmaps bitmaps;
  final BlockLocks locks = new BlockLocks();
  final FileSpace space;
  final Commits commits;
  private final String location;
  private final BlockDevice file;
  private final BlockReader reader;
  private final BlockWriter writer;

  Blocks(String location, BlockDevice file, VpcFile layout, Parent parent) throws IOException {
    this.location = location;
    this.file = file;
    this.layout = layout;
    this.bat = new Bat(layout.bat, layout.tableOffset);
    this.bitmaps = new Bitmaps(layout.bitmapBytes, this::loadBitmap);
    this.space = new FileSpace(location, file, layout);
    this.commits = new Commits(file, bat, bitmaps, locks);
    this.reader = new BlockReader(location, file, layout, bat, bitmaps, space, parent);
    this.writer = new BlockWriter(file, layout, bat, bitmaps, locks, space, commits, parent);
    rescan();
  }

  /**
   * Recomputes where blocks go and which may be written, from the BAT and the file as they are;
   * returns the scan.
   */
  BlockScan rescan() throws IOException {
    return space.rescan(bat);
  }

  private byte[] loadBitmap(int block) throws IOException {
    long at = Bat.offsetOf(bat.get(block));
    long eof = space.length();
    if (at + layout.bitmapBytes > eof) {
      throw new CorruptImageException(location, "the sector bitmap of block " + block + " (at "
          + "offset " + at + ") lies past the end of the file (" + eof + " bytes)");
    }
    return VpcFile.read(file, at, layout.bitmapBytes).array();
  }

  void read(long offset, ByteBuffer dst) throws IOException {
    reader.read(offset, dst);
  }

  Extent status(long offset, long length) throws IOException {
    return reader.status(offset, length);
  }

  /** See {@link BlockWriter#write}. */
  void write(long offset, ByteBuffer src, long length) throws IOException {
    writer.write(offset, src, length);
  }

  /** See {@link BlockWriter#zero}. */
  void zero(long offset, long length, boolean discard) throws IOException {
    writer.zero(offset, length, discard);
  }

  /** True when bitmaps or BAT entries wait to be written (a failed write left them). */
  boolean hasChanges() {
    return commits.hasChanges();
  }

  /** Commits what a failed write left, then makes everything durable. */
  void flush() throws IOException {
    commits.flush();
  }
}
