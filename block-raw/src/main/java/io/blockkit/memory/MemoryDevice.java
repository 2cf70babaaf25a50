package io.blockkit.memory;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Set;

/** An open memory image; several devices may share one store. */
final class MemoryDevice extends AbstractBlockDevice {
  private static final Set<Capability> READ_ONLY_CAPS = Set.of(Capability.BLOCK_STATUS);
  private static final Set<Capability> WRITABLE_CAPS = Set.copyOf(EnumSet.of(Capability.WRITE,
      Capability.DISCARD, Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.RESIZE,
      Capability.GROW));

  private final MemoryStore store;

  MemoryDevice(MemoryDriver driver, String location, MemoryStore store, boolean readOnly) {
    super(driver, location, readOnly, null);
    this.store = store;
  }

  @Override
  public long size() throws IOException {
    ensureOpen();
    return store.size();
  }

  @Override
  public Set<Capability> capabilities() {
    return isReadOnly() ? READ_ONLY_CAPS : WRITABLE_CAPS;
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) {
    store.read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) {
    store.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) {
    store.zero(offset, length);
  }

  @Override
  protected void doDiscard(long offset, long length) {
    store.zero(offset, length);
  }

  /** Runs of stored chunks are DATA (host offset = offset), runs of absent chunks ZERO. */
  @Override
  protected Extent doBlockStatus(long offset, long length) {
    long end = offset + length;
    boolean stored = store.isStored(offset);
    long pos = (offset / MemoryStore.CHUNK + 1) * MemoryStore.CHUNK;
    while (pos < end && store.isStored(pos) == stored) {
      pos += MemoryStore.CHUNK;
    }
    long runLength = Math.min(pos, end) - offset;
    return stored ? Extent.data(offset, runLength, offset, this)
        : Extent.zero(offset, runLength);
  }

  @Override
  protected void doTruncate(long newSize) {
    store.resize(newSize);
  }

  @Override
  public long allocatedSize() throws IOException {
    ensureOpen();
    return store.allocatedBytes();
  }
}
