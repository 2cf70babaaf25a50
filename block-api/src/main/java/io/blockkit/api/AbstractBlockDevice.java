package io.blockkit.api;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.OutOfRangeException;
import io.blockkit.api.error.ReadOnlyException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A base for {@link BlockDevice}s that does the checks every driver needs in one place: closed
 * state, read-only, ranges and zero-length requests. Subclasses implement the {@code do*} methods,
 * which are called only with valid, non-empty, in-range requests.
 *
 * <p>A format with backing files passes the opened backing to the constructor and reads its
 * unallocated ranges with {@link #readBacking}; the base class owns the backing from then on.
 */
public abstract class AbstractBlockDevice implements BlockDevice {
  private static final int ZERO_CHUNK = 1 << 20;

  private final BlockDriver driver;
  private final String location;
  private final boolean readOnly;
  private final BlockDevice child;
  private volatile BlockDevice backing;
  private final AtomicBoolean closed = new AtomicBoolean();

  protected AbstractBlockDevice(BlockDriver driver, String location, boolean readOnly,
      BlockDevice child) {
    this(driver, location, readOnly, child, null);
  }

  /**
   * @param backing the opened backing image, or null; owned (and closed) by this device from here
   */
  protected AbstractBlockDevice(BlockDriver driver, String location, boolean readOnly,
      BlockDevice child, BlockDevice backing) {
    this.driver = driver;
    this.location = location;
    this.readOnly = readOnly;
    this.child = child;
    this.backing = backing;
  }

  @Override
  public final BlockDriver driver() {
    return driver;
  }

  @Override
  public final String location() {
    return location;
  }

  @Override
  public final boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public final Optional<BlockDevice> child() {
    return Optional.ofNullable(child);
  }

  /** The child, for subclasses that always have one. */
  protected final BlockDevice childDevice() {
    return child;
  }

  @Override
  public final Optional<BlockDevice> backing() {
    return Optional.ofNullable(backing);
  }

  /**
   * Fills {@code dst} with what this image's unallocated range at {@code offset} reads as: the
   * backing's bytes up to its end, zeros past it, and zeros when there is no backing.
   *
   * @throws IOException when reading the backing fails
   */
  protected final void readBacking(long offset, ByteBuffer dst) throws IOException {
    BlockDevice b = backing;
    if (b != null) {
      long size = b.size();
      if (offset < size) {
        int n = (int) Math.min(dst.remaining(), size - offset);
        ByteBuffer part = dst.slice();
        part.limit(n);
        b.read(offset, part);
        dst.position(dst.position() + n);
      }
    }
    while (dst.hasRemaining()) {
      dst.put((byte) 0);
    }
  }

  /**
   * The backing image the metadata names, for {@link #info()}; null by default (no backing). Kept
   * apart from {@link #backing()}: the user may have dropped the backing at open.
   *
   * @throws IOException when the metadata cannot be read
   */
  protected BackingLink backingLink() throws IOException {
    return null;
  }

  @Override
  public final void changeBacking(BackingLink link, BlockDevice newBacking) throws IOException {
    ensureWritable();
    requireFeature(DriverFeature.BACKING);
    doChangeBacking(link, newBacking);
    BlockDevice old = backing;
    backing = newBacking;
    if (old != null && old != newBacking) {
      old.close();
    }
  }

  /**
   * Stores the new backing (or none) in the metadata, durably; called only for BACKING formats.
   * Formats that record the backing by identity rather than by name (VDI stores its parent's
   * UUIDs) read it from {@code newBacking}. Default: {@link #doChangeBacking(BackingLink)}.
   *
   * @param newBacking the image that will be the backing, or null when none is opened
   * @throws IOException when the metadata cannot be written; the old link stays
   */
  protected void doChangeBacking(BackingLink link, BlockDevice newBacking) throws IOException {
    doChangeBacking(link);
  }

  /**
   * Stores {@code link} (or none) in the metadata, durably; called only for BACKING formats.
   *
   * @throws IOException when the metadata cannot be written; the old link stays
   */
  protected void doChangeBacking(BackingLink link) throws IOException {
    throw new UnsupportedFeatureException("Format '" + driver.name()
        + "' cannot change its backing file");
  }

  @Override
  public final void amend(Options options) throws IOException {
    ensureWritable();
    requireFeature(DriverFeature.AMEND);
    doAmend(options);
  }

  /**
   * Called only for formats with {@link DriverFeature#AMEND}, on a writable image.
   *
   * @throws UnsupportedFeatureException for an option the format cannot change
   * @throws IOException when the storage fails
   */
  protected void doAmend(Options options) throws IOException {
    throw new UnsupportedFeatureException("Format '" + driver.name()
        + "' does not support amending options");
  }

  @Override
  public final void compact() throws IOException {
    ensureWritable();
    requireFeature(DriverFeature.COMPACT);
    doCompact();
  }

  /**
   * Called only for formats with {@link DriverFeature#COMPACT}, on a writable image.
   *
   * @throws IOException when the storage fails; the content is unchanged
   */
  protected void doCompact() throws IOException {
    throw new UnsupportedFeatureException("Format '" + driver.name()
        + "' does not support compaction");
  }

  private void requireFeature(DriverFeature f) throws UnsupportedFeatureException {
    if (!driver.features().contains(f)) {
      throw new UnsupportedFeatureException("Format '" + driver.name() + "' does not support "
          + f.noun());
    }
  }

  @Override
  public final void read(long offset, ByteBuffer dst) throws IOException {
    ensureOpen();
    int n = dst.remaining();
    checkRange(offset, n);
    if (n > 0) {
      doRead(offset, dst);
    }
  }

  @Override
  public final void write(long offset, ByteBuffer src) throws IOException {
    ensureWritable();
    int n = src.remaining();
    checkWriteRange(offset, n);
    if (n > 0) {
      doWrite(offset, src);
    }
  }

  @Override
  public final void writeZeroes(long offset, long length) throws IOException {
    ensureWritable();
    checkWriteRange(offset, length);
    if (length > 0) {
      doWriteZeroes(offset, length);
    }
  }

  @Override
  public final void discard(long offset, long length) throws IOException {
    ensureWritable();
    checkRange(offset, length);
    if (length > 0) {
      doDiscard(offset, length);
    }
  }

  @Override
  public final Extent blockStatus(long offset, long length) throws IOException {
    ensureOpen();
    if (length <= 0) {
      throw new IllegalArgumentException("block status needs a positive length, got " + length);
    }
    checkRange(offset, length);
    return doBlockStatus(offset, length);
  }

  @Override
  public final void flush() throws IOException {
    ensureOpen();
    if (!readOnly) {
      doFlush();
      BlockDevice b = backing;
      if (b != null) {
        b.flush(); // a no-op for the usual read-only backing; commit writes through a writable one
      }
    }
  }

  @Override
  public final CheckReport check(CheckMode mode) throws IOException {
    ensureOpen();
    if (!capabilities().contains(Capability.CHECK)) {
      throw new UnsupportedFeatureException("Format '" + driver.name()
          + "' does not support checks");
    }
    if (mode != CheckMode.REPORT) {
      if (readOnly) {
        throw new ReadOnlyException(location);
      }
      if (!capabilities().contains(Capability.REPAIR)) {
        throw new UnsupportedFeatureException("Format '" + driver.name()
            + "' does not support repair");
      }
    }
    return doCheck(mode);
  }

  @Override
  public final void truncate(long newSize) throws IOException {
    ensureWritable();
    if (newSize < 0) {
      throw new IllegalArgumentException("negative size " + newSize);
    }
    if (!capabilities().contains(Capability.RESIZE)) {
      throw new UnsupportedFeatureException("Format '" + driver.name()
          + "' does not support resizing");
    }
    doTruncate(newSize);
  }

  /**
   * Called only when the device has {@link Capability#RESIZE}.
   *
   * @throws IOException when the storage fails
   */
  protected void doTruncate(long newSize) throws IOException {
    throw new UnsupportedFeatureException("Driver '" + driver.name() + "' cannot resize");
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    return new ImageInfo(location, driver.name(), size(), allocatedSize(), 0, false,
        formatSpecific(), backingLink());
  }

  /**
   * Fields for {@link ImageInfo#formatSpecific()}; none by default.
   *
   * @throws IOException when the metadata cannot be read
   */
  protected Map<String, Object> formatSpecific() throws IOException {
    return Map.of();
  }

  @Override
  public long allocatedSize() throws IOException {
    return child != null ? child.allocatedSize() : -1;
  }

  @Override
  public final void close() throws IOException {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    IOException failure = null;
    try {
      doClose();
    } catch (IOException e) {
      failure = e;
    }
    for (BlockDevice owned : new BlockDevice[] {child, backing}) {
      if (owned == null) {
        continue;
      }
      try {
        owned.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** True once {@link #close} has been called. */
  protected final boolean isClosed() {
    return closed.get();
  }

  protected final void ensureOpen() throws BlockException {
    if (closed.get()) {
      throw new BlockException("Image '" + location + "' is closed");
    }
  }

  protected final void ensureWritable() throws BlockException {
    ensureOpen();
    if (readOnly) {
      throw new ReadOnlyException(location);
    }
  }

  /**
   * Fails with {@link OutOfRangeException} unless {@code [offset, offset+length)} is inside the image.
   *
   * @throws OutOfRangeException when the range is not inside the image
   * @throws IOException when the size cannot be read
   */
  protected final void checkRange(long offset, long length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative offset or length: " + offset + ", " + length);
    }
    long size = knownSize();
    if (offset > size || length > size - offset) {
      size = size();
      if (offset > size || length > size - offset) {
        throw new OutOfRangeException(location, offset, length, size);
      }
    }
  }

  /**
   * The size requests are checked against first; a request beyond it is checked again against
   * {@link #size()} before it fails. Default: {@link #size()}. Devices whose {@code size()} costs
   * a system call (a host file's length) answer from a cached size here, so that a 4 KiB read does
   * not pay an fstat per layer; the cache may lag behind a size another process changed, never
   * behind one this device changed.
   *
   * @throws IOException when the size cannot be read
   */
  protected long knownSize() throws IOException {
    return size();
  }

  /**
   * Like {@link #checkRange}, but a device with {@link Capability#GROW} accepts writes past its end.
   *
   * @throws OutOfRangeException when the range is not inside the image
   * @throws IOException when the size cannot be read
   */
  protected final void checkWriteRange(long offset, long length) throws IOException {
    if (capabilities().contains(Capability.GROW)) {
      if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
        throw new IllegalArgumentException("bad write range: " + offset + ", " + length);
      }
      return;
    }
    checkRange(offset, length);
  }

  protected abstract void doRead(long offset, ByteBuffer dst) throws IOException;

  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    throw new UnsupportedFeatureException("Driver '" + driver.name() + "' cannot write");
  }

  /**
   * Default: writes buffers of zeros. Formats that can mark ranges zero override this.
   *
   * @throws IOException when the storage fails
   */
  protected void doWriteZeroes(long offset, long length) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, ZERO_CHUNK));
    long done = 0;
    while (done < length) {
      int n = (int) Math.min(length - done, zeros.capacity());
      zeros.clear().limit(n);
      doWrite(offset + done, zeros);
      done += n;
    }
  }

  /**
   * Default: nothing is released, which discard's contract allows.
   *
   * @throws IOException when the storage fails
   */
  protected void doDiscard(long offset, long length) throws IOException {
  }

  /**
   * Default: the whole range is data, with no host offset.
   *
   * @throws IOException when the metadata cannot be read
   */
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    return new Extent(offset, length, true, false, true, -1, null);
  }

  /**
   * Default: flushes the child.
   *
   * @throws IOException when the writes cannot be made durable
   */
  protected void doFlush() throws IOException {
    if (child != null) {
      child.flush();
    }
  }

  /**
   * Called only when the device has {@link Capability#CHECK}.
   *
   * @throws IOException when the storage fails (findings go in the report)
   */
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    return CheckReport.clean();
  }

  /**
   * Releases this node's own resources; the child and backing are closed afterwards.
   *
   * @throws IOException when releasing fails; the node counts as closed
   */
  protected void doClose() throws IOException {
  }
}
