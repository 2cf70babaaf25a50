package io.blockkit.vmdk;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.ReadOnlyException;
import java.io.IOException;
import java.nio.ByteBuffer;

/** A FLAT or VMFS extent: the bytes as they are, from a start sector of a file. */
final class FlatExtent implements DiskExtent {
  private final BlockDevice file;
  private final String name;
  private final long start;
  private final long length;
  private final boolean writable;

  /**
   * @param name the extent file's name, for messages
   * @param start byte offset of the extent's data in the file
   */
  FlatExtent(BlockDevice file, String name, long start, long length, boolean writable) {
    this.file = file;
    this.name = name;
    this.start = start;
    this.length = length;
    this.writable = writable;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public BlockDevice file() {
    return file;
  }

  @Override
  public void read(long offset, ByteBuffer dst, Parent parent) throws IOException {
    // A flat file shorter than its extent reads zeros past its end, as in QEMU; check reports it.
    long fileLength = file.size();
    long at = start + offset;
    int n = (int) Math.max(0, Math.min(dst.remaining(), fileLength - at));
    if (n > 0) {
      ByteBuffer part = dst.slice().limit(n);
      file.read(at, part);
      dst.position(dst.position() + n);
    }
    while (dst.hasRemaining()) {
      dst.put((byte) 0);
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Parent parent) throws IOException {
    requireWritable();
    file.write(start + offset, src);
  }

  @Override
  public void writeZeroes(long offset, long len, boolean hasParent, Parent parent)
      throws IOException {
    requireWritable();
    file.writeZeroes(start + offset, len);
  }

  private void requireWritable() throws IOException {
    if (!writable) {
      throw new ReadOnlyException(name + " (an extent the descriptor opens read-only)");
    }
  }

  @Override
  public Run status(long offset, long len) throws IOException {
    return new Run(len, Kind.DATA, start + offset, file);
  }

  @Override
  public void flush() throws IOException {
    file.flush();
  }

  @Override
  public void check(CheckReport.Builder report, String extentName, Totals totals)
      throws IOException {
    long fileLength = file.size();
    if (fileLength < start + length) {
      report.corruption(extentName + ": the flat extent file '" + name + "' is " + fileLength
          + " bytes long; the descriptor needs " + (start + length) + " (sectors "
          + start / 512 + " to " + (start + length) / 512 + ")");
    }
  }
}
