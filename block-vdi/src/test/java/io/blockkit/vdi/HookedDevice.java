package io.blockkit.vdi;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.Capability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A {@link MemDevice} behind a hook that sees every change before it happens and may fail it
 * (an I/O error, nothing written) or hold it (to line threads up in a race).
 */
final class HookedDevice extends AbstractBlockDevice {
  /** Decides about one change: {@code kind} is write, zero or truncate. */
  interface Hook {
    void before(String kind, long offset, long length) throws IOException;
  }

  final MemDevice mem;
  volatile Hook hook = (kind, offset, length) -> { };

  HookedDevice(MemDevice mem) {
    super(MemDevice.DRIVER, "hooked", false, null);
    this.mem = mem;
  }

  @Override
  public long size() {
    return mem.size();
  }

  @Override
  public Set<Capability> capabilities() {
    return mem.capabilities();
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    mem.read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    hook.before("write", offset, src.remaining());
    mem.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    hook.before("zero", offset, length);
    mem.writeZeroes(offset, length);
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    hook.before("truncate", newSize, 0);
    mem.truncate(newSize);
  }

  @Override
  protected void doFlush() throws IOException {
    mem.flush();
  }

  @Override
  public long allocatedSize() {
    return mem.allocatedSize();
  }
}
