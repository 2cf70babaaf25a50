package io.blockkit.blkdebug;

import io.blockkit.api.DriverFeature;
import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A growable in-memory node for tests, counting the requests that reach it. */
final class MemoryNode extends AbstractBlockDevice {
  private byte[] data;
  final AtomicInteger writes = new AtomicInteger();
  final AtomicInteger flushes = new AtomicInteger();

  MemoryNode(BlockDriver driver, String name, byte[] initial, boolean readOnly) {
    super(driver, name, readOnly, null);
    this.data = initial;
  }

  MemoryNode(int size) {
    this(new Protocol(), "mem-test", new byte[size], false);
  }

  synchronized byte[] bytes() {
    return data.clone();
  }

  @Override
  public synchronized long size() {
    return data.length;
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.of(Capability.WRITE, Capability.FLUSH, Capability.GROW, Capability.RESIZE);
  }

  @Override
  protected synchronized void doRead(long offset, ByteBuffer dst) {
    dst.put(data, (int) offset, dst.remaining());
  }

  @Override
  protected synchronized void doWrite(long offset, ByteBuffer src) {
    writes.incrementAndGet();
    int end = (int) offset + src.remaining();
    if (end > data.length) {
      data = Arrays.copyOf(data, end);
    }
    src.get(data, (int) offset, src.remaining());
  }

  @Override
  protected synchronized void doTruncate(long newSize) {
    data = Arrays.copyOf(data, (int) newSize);
  }

  @Override
  protected void doFlush() {
    flushes.incrementAndGet();
  }

  /** Protocol "mem": names map to shared arrays, so a reopen sees what was written. */
  static final class Protocol implements BlockDriver {
    final Map<String, MemoryNode> nodes = new ConcurrentHashMap<>();

    @Override
    public String name() {
      return "mem";
    }

    @Override
    public DriverKind kind() {
      return DriverKind.PROTOCOL;
    }

    @Override
    public String description() {
      return "test memory";
    }

    @Override
    public Set<DriverFeature> features() {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
    }

    @Override
    public BlockDevice open(OpenRequest request) {
      return nodes.computeIfAbsent(request.location(),
          n -> new MemoryNode(this, n, new byte[4096], request.readOnly()));
    }
  }

  /** Format "passfmt": passes everything through to its child. */
  static final class PassFormat implements BlockDriver {
    @Override
    public String name() {
      return "passfmt";
    }

    @Override
    public DriverKind kind() {
      return DriverKind.FORMAT;
    }

    @Override
    public String description() {
      return "test pass-through format";
    }

    @Override
    public Set<DriverFeature> features() {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
    }

    @Override
    public BlockDevice open(OpenRequest request) {
      return new AbstractBlockDevice(this, request.location(), request.readOnly(),
          request.child()) {
        @Override
        public long size() throws java.io.IOException {
          return childDevice().size();
        }

        @Override
        public Set<Capability> capabilities() {
          return EnumSet.of(Capability.WRITE);
        }

        @Override
        protected void doRead(long offset, ByteBuffer dst) throws java.io.IOException {
          childDevice().read(offset, dst);
        }

        @Override
        protected void doWrite(long offset, ByteBuffer src) throws java.io.IOException {
          childDevice().write(offset, src);
        }
      };
    }
  }
}
