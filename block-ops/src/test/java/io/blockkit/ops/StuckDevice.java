package io.blockkit.ops;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.Capability;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A source whose first read says so and then waits to be released (a hung disk). */
final class StuckDevice extends AbstractBlockDevice {
  private final long size;
  private final CountDownLatch reading;
  private final CountDownLatch release;

  StuckDevice(long size, CountDownLatch reading, CountDownLatch release) {
    super(null, "stuck", true, null);
    this.size = size;
    this.reading = reading;
    this.release = release;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of();
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws InterruptedIOException {
    reading.countDown();
    try {
      if (!release.await(60, TimeUnit.SECONDS)) {
        throw new InterruptedIOException("never released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    }
    while (dst.hasRemaining()) {
      dst.put((byte) 1);
    }
  }
}
