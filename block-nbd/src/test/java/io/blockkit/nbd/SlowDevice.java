package io.blockkit.nbd;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/** A writable device over another that takes its time for reads and writes and counts flushes. */
final class SlowDevice extends AbstractBlockDevice {
  private final long readMillis;
  private final long writeMillis;
  final AtomicInteger flushes = new AtomicInteger();

  SlowDevice(BlockDevice inner, long readMillis, long writeMillis) {
    super(inner.driver(), inner.location(), false, inner);
    this.readMillis = readMillis;
    this.writeMillis = writeMillis;
  }

  @Override
  public long size() throws IOException {
    return childDevice().size();
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of(Capability.WRITE, Capability.FLUSH);
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    pause(readMillis);
    childDevice().read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    pause(writeMillis);
    childDevice().write(offset, src);
  }

  @Override
  protected void doFlush() throws IOException {
    flushes.incrementAndGet();
    super.doFlush();
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
