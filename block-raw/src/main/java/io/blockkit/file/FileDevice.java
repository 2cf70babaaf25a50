package io.blockkit.file;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** An open host file. Positional I/O only, so no request moves a shared file position. */
final class FileDevice extends AbstractBlockDevice {
  /**
   * The JDK copies heap buffers through a per-thread direct buffer as large as the request; I/O
   * on heap buffers goes in slices of this size so that buffer stays small and is reused.
   */
  private static final int HEAP_SLICE = 1 << 20;

  private final FileChannel channel;
  private final OpenFiles.Handle handle;
  private final NativeFiles natives;
  private final Set<Capability> capabilities;
  /**
   * The file's length as this device last saw or made it: raised by every write that extends the
   * file, set by truncate and by every {@link #size()} call. Range checks use it instead of an
   * fstat per request.
   */
  private final AtomicLong knownLength = new AtomicLong(-1);
  /**
   * The data run the last block-status query found, so that the next queries inside it ask the
   * kernel nothing: on tmpfs every SEEK_HOLE walks the page cache up to the next hole, so a
   * client asking about a large allocated file piece by piece (an NBD export read by nbdcopy)
   * paid time quadratic in the file's size. Writes only turn holes into data, so a data run
   * stays one; punching holes and truncating (the only ways this device makes holes) clear it.
   * Another process punching holes can leave it claiming data where a hole now is, which is
   * still a true answer (data may read as zeros); QEMU's file protocol keeps the same cache.
   * A hole-making call replaces it with a new empty run after it is done, so a query that asked
   * the kernel before then cannot store its answer (its compare-and-set fails on identity).
   */
  private final AtomicReference<DataRun> lastDataRun = new AtomicReference<>(DataRun.none());

  /** {@code [start, end)} was data when the kernel was asked. */
  private record DataRun(long start, long end) {
    /** A new empty run: compare-and-set tells instances apart. */
    static DataRun none() {
      return new DataRun(0, 0);
    }
  }

  FileDevice(FileDriver driver, String location, boolean readOnly,
      FileChannel channel, OpenFiles.Handle handle, NativeFiles natives) {
    super(driver, location, readOnly, null);
    this.channel = channel;
    this.handle = handle;
    this.natives = natives;
    EnumSet<Capability> caps = EnumSet.noneOf(Capability.class);
    if (natives.available()) {
      caps.add(Capability.BLOCK_STATUS);
    }
    if (!readOnly) {
      caps.addAll(EnumSet.of(Capability.WRITE, Capability.FLUSH, Capability.RESIZE,
          Capability.GROW));
      if (natives.available()) {
        caps.add(Capability.DISCARD);
        caps.add(Capability.WRITE_ZEROES);
      }
    }
    this.capabilities = Set.copyOf(caps);
  }

  @Override
  public long size() throws IOException {
    ensureOpen();
    try {
      long size = channel.size();
      knownLength.set(size);
      return size;
    } catch (IOException e) {
      throw FileErrors.map(location(), e);
    }
  }

  @Override
  protected long knownSize() throws IOException {
    long known = knownLength.get();
    return known >= 0 ? known : size();
  }

  @Override
  public Optional<FileChannel> hostFile() {
    return Optional.of(channel);
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    try {
      while (dst.hasRemaining()) {
        int n = transfer(dst, pos, false);
        if (n < 0) {
          // the file shrank under us (another writer truncated it): what is gone reads as zeros
          while (dst.hasRemaining()) {
            dst.put((byte) 0);
          }
          return;
        }
        pos += n;
      }
    } catch (IOException e) {
      throw FileErrors.map(location(), e);
    }
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    try {
      while (src.hasRemaining()) {
        pos += transfer(src, pos, true);
      }
    } catch (IOException e) {
      throw FileErrors.map(location(), e);
    } finally {
      grown(pos);
    }
  }

  /** Records that the file is now at least {@code end} bytes long. */
  private void grown(long end) {
    knownLength.accumulateAndGet(end, Math::max);
  }

  private int transfer(ByteBuffer buf, long pos, boolean write) throws IOException {
    if (buf.isDirect() || buf.remaining() <= HEAP_SLICE) {
      return write ? channel.write(buf, pos) : channel.read(buf, pos);
    }
    ByteBuffer slice = buf.duplicate();
    slice.limit(slice.position() + HEAP_SLICE);
    int n = write ? channel.write(slice, pos) : channel.read(slice, pos);
    if (n > 0) {
      buf.position(buf.position() + n);
    }
    return n;
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    try {
      long size = channel.size();
      long end = offset + length;
      if (offset < size) {
        punchOrWrite(offset, Math.min(end, size) - offset);
      }
      if (end > size) {
        // Past the end: a hole, which reads as zeros. Not setLength: its ftruncate could cut off
        // a concurrent write that has grown the file further (another block being appended).
        FileDriver.growByLastByte(channel, end);
        grown(end);
      }
    } catch (IOException e) {
      throw FileErrors.map(location(), e);
    }
  }

  private void punchOrWrite(long offset, long length) throws IOException {
    try {
      punch(offset, length);
    } catch (NativeFiles.Unsupported e) {
      super.doWriteZeroes(offset, length);
    }
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    try {
      punch(offset, length);
    } catch (NativeFiles.Unsupported e) {
      // discard may leave the data in place
    }
  }

  /**
   * Holes are ZERO without data, everything else DATA at the same host offset; without
   * SEEK_DATA support the whole range is DATA.
   */
  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    long end = offset + length;
    DataRun known = lastDataRun.get();
    if (known.start() <= offset && offset < known.end()) {
      return Extent.data(offset, Math.min(known.end(), end) - offset, offset, this);
    }
    try {
      long data = natives.nextData(offset);
      if (data < 0 || data >= end) {
        return Extent.zero(offset, length);
      }
      if (data > offset) {
        return Extent.zero(offset, data - offset);
      }
      long hole = natives.nextHole(offset);
      if (hole <= offset) {
        return Extent.data(offset, length, offset, this);
      }
      // kept only if no hole was made since the field was read
      lastDataRun.compareAndSet(known, new DataRun(offset, hole));
      return Extent.data(offset, Math.min(hole, end) - offset, offset, this);
    } catch (NativeFiles.Unsupported e) {
      return Extent.data(offset, length, offset, this);
    }
  }

  private void punch(long offset, long length) throws IOException, NativeFiles.Unsupported {
    try {
      natives.punchHole(offset, length);
    } finally {
      lastDataRun.set(DataRun.none());
    }
  }

  @Override
  protected void doFlush() throws IOException {
    try {
      channel.force(true);
    } catch (IOException e) {
      throw FileErrors.map(location(), e);
    }
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    try {
      FileDriver.setLength(channel, natives, newSize);
      knownLength.set(newSize);
    } catch (IOException e) {
      knownLength.set(-1);
      throw FileErrors.map(location(), e);
    } finally {
      lastDataRun.set(DataRun.none());
    }
  }

  /** Blocks allocated on disk; without fstat, the bytes in data extents; else the length. */
  @Override
  public long allocatedSize() throws IOException {
    ensureOpen();
    long size = size();
    long blocks = natives.allocatedBytes(size);
    if (blocks >= 0) {
      return blocks;
    }
    try {
      long total = 0;
      long pos = 0;
      while (pos < size) {
        long data = natives.nextData(pos);
        if (data < 0) {
          break;
        }
        long hole = natives.nextHole(data);
        long runEnd = hole <= data ? size : Math.min(hole, size);
        total += runEnd - data;
        pos = runEnd;
      }
      return total;
    } catch (NativeFiles.Unsupported e) {
      return size;
    }
  }

  @Override
  protected void doClose() throws IOException {
    handle.release();
  }
}
