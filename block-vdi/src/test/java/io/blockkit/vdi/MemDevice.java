package io.blockkit.vdi;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A growable byte-array protocol node for unit tests, counting the requests it serves so tests can
 * assert how many child I/Os a VDI request costs.
 */
final class MemDevice extends AbstractBlockDevice {
  static final BlockDriver DRIVER = new BlockDriver() {
    @Override
    public String name() {
      return "testmem";
    }

    @Override
    public DriverKind kind() {
      return DriverKind.PROTOCOL;
    }

    @Override
    public String description() {
      return "byte array for tests";
    }

    @Override
    public java.util.Set<io.blockkit.api.DriverFeature> features() {
      return java.util.Set.of(io.blockkit.api.DriverFeature.WRITE);
    }

    @Override
    public BlockDevice open(OpenRequest request) {
      throw new UnsupportedOperationException();
    }
  };

  private byte[] data;
  private long length;
  final AtomicInteger reads = new AtomicInteger();
  /** Data writes ({@code write}). */
  final AtomicInteger writes = new AtomicInteger();
  /** Zeroing requests ({@code writeZeroes}), counted apart from data writes. */
  final AtomicInteger zeroWrites = new AtomicInteger();
  final AtomicInteger flushes = new AtomicInteger();
  private final boolean resizable;
  /** When non-null, every change is appended here, so tests can replay any prefix (a crash). */
  volatile java.util.List<Change> log;

  /** One change to the bytes: a write, zeroing or a truncation. */
  record Change(String kind, long offset, byte[] data, long length) {
    byte[] applyTo(byte[] image) {
      byte[] out = image;
      switch (kind) {
        case "write" -> {
          out = Arrays.copyOf(image, (int) Math.max(image.length, offset + data.length));
          System.arraycopy(data, 0, out, (int) offset, data.length);
        }
        case "zero" -> {
          out = Arrays.copyOf(image, (int) Math.max(image.length, offset + length));
          Arrays.fill(out, (int) offset, (int) (offset + length), (byte) 0);
        }
        default -> out = Arrays.copyOf(image, (int) length);
      }
      return out;
    }
  }

  MemDevice(byte[] initial) {
    this(initial, false, true);
  }

  MemDevice(byte[] initial, boolean readOnly, boolean resizable) {
    super(DRIVER, "mem", readOnly, null);
    this.data = initial.clone();
    this.length = initial.length;
    this.resizable = resizable;
  }

  static MemDevice empty() {
    return new MemDevice(new byte[0]);
  }

  @Override
  public synchronized long size() {
    return length;
  }

  @Override
  public Set<Capability> capabilities() {
    EnumSet<Capability> c = EnumSet.of(Capability.WRITE, Capability.GROW, Capability.FLUSH);
    if (resizable) {
      c.add(Capability.RESIZE);
    }
    return c;
  }

  @Override
  protected synchronized void doRead(long offset, ByteBuffer dst) {
    reads.incrementAndGet();
    int n = dst.remaining();
    dst.put(data, (int) offset, n);
  }

  @Override
  protected synchronized void doWrite(long offset, ByteBuffer src) {
    writes.incrementAndGet();
    int n = src.remaining();
    ensure(offset + n);
    src.get(data, (int) offset, n);
    if (log != null) {
      log.add(new Change("write", offset, Arrays.copyOfRange(data, (int) offset,
          (int) offset + n), n));
    }
  }

  @Override
  protected synchronized void doWriteZeroes(long offset, long len) {
    zeroWrites.incrementAndGet();
    ensure(offset + len);
    Arrays.fill(data, (int) offset, (int) (offset + len), (byte) 0);
    if (log != null) {
      log.add(new Change("zero", offset, null, len));
    }
  }

  @Override
  protected void doFlush() {
    flushes.incrementAndGet();
  }

  @Override
  protected synchronized void doTruncate(long newSize) {
    if (newSize < length) {
      Arrays.fill(data, (int) newSize, (int) length, (byte) 0);
    }
    length = newSize;
    ensure(newSize);
    if (log != null) {
      log.add(new Change("truncate", 0, null, newSize));
    }
  }

  @Override
  public long allocatedSize() {
    return size();
  }

  private void ensure(long end) {
    if (end > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("test device too large: " + end);
    }
    if (end > data.length) {
      data = Arrays.copyOf(data, (int) Math.max(end, Math.min(Integer.MAX_VALUE - 16,
          2L * data.length)));
    }
    length = Math.max(length, end);
  }

  synchronized byte[] bytes() {
    return Arrays.copyOf(data, (int) length);
  }

  void resetCounters() {
    reads.set(0);
    writes.set(0);
    zeroWrites.set(0);
    flushes.set(0);
  }
}
