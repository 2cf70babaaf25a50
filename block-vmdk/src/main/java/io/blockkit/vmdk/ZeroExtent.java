package io.blockkit.vmdk;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckReport;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.error.ReadOnlyException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * An extent without a file: a ZERO extent (reads zeros, keeps nothing written) or a NOACCESS
 * line (the format says its data may not be read).
 */
final class ZeroExtent implements DiskExtent {
  private final String name;
  private final long length;
  private final boolean readable;

  /** @param name how messages call the extent ("extent 2 (ZERO)") */
  ZeroExtent(String name, long length, boolean readable) {
    this.name = name;
    this.length = length;
    this.readable = readable;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public BlockDevice file() {
    return null;
  }

  @Override
  public void read(long offset, ByteBuffer dst, Parent parent) throws IOException {
    if (!readable) {
      throw new DataUnavailableException("Cannot read " + name + ": the descriptor marks it "
          + "NOACCESS", offset, dst.remaining());
    }
    while (dst.hasRemaining()) {
      dst.put((byte) 0);
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Parent parent) throws IOException {
    throw new ReadOnlyException(name + " (an extent that stores no data)");
  }

  @Override
  public void writeZeroes(long offset, long len, boolean hasParent, Parent parent)
      throws IOException {
    throw new ReadOnlyException(name + " (an extent that stores no data)");
  }

  @Override
  public Run status(long offset, long len) {
    return new Run(len, Kind.ZERO, -1, null);
  }

  @Override
  public void flush() {
  }

  @Override
  public void check(CheckReport.Builder report, String extentName, Totals totals) {
  }
}
