package io.blockkit.registry;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Tiny drivers for registry tests: a memory protocol, magic-probing formats, a filter. */
public final class FakeDrivers {
  private FakeDrivers() {}

  /** A device over a byte array; records whether it was closed. */
  static final class ArrayDevice extends AbstractBlockDevice {
    private final byte[] data;
    volatile boolean closedFlag;

    ArrayDevice(BlockDriver driver, String location, byte[] data, boolean readOnly) {
      super(driver, location, readOnly, null);
      this.data = data;
    }

    @Override
    public long size() {
      return data.length;
    }

    @Override
    public Set<Capability> capabilities() {
      return isReadOnly() ? EnumSet.noneOf(Capability.class) : EnumSet.of(Capability.WRITE);
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) {
      dst.put(data, (int) offset, dst.remaining());
    }

    @Override
    protected void doWrite(long offset, ByteBuffer src) {
      src.get(data, (int) offset, src.remaining());
    }

    @Override
    protected void doClose() {
      closedFlag = true;
    }
  }

  /** Protocol {@code name}: locations are keys of {@link #store}. */
  static class MemProtocol implements BlockDriver {
    final String name;
    final Map<String, byte[]> store = new ConcurrentHashMap<>();
    final List<ArrayDevice> opened = Collections.synchronizedList(new ArrayList<>());
    final List<String> deleted = Collections.synchronizedList(new ArrayList<>());

    MemProtocol(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public DriverKind kind() {
      return DriverKind.PROTOCOL;
    }

    @Override
    public String description() {
      return "test memory protocol";
    }

    @Override
    public int probe(ProbeInput input) {
      return 100; // protocols are never probed; a high score proves it
    }

    @Override
    public List<OptionSpec> openOptions() {
      return List.of(OptionSpec.bool("locking", true, "ignored"));
    }

    @Override
    public BlockDevice open(OpenRequest request) throws IOException {
      byte[] data = store.get(request.location());
      if (data == null) {
        throw new ImageAccessException(request.location(), ImageAccessException.Reason.NOT_FOUND,
            null);
      }
      ArrayDevice d = new ArrayDevice(this, request.location(), data, request.readOnly());
      opened.add(d);
      return d;
    }

    @Override
    public void create(CreateRequest request) {
      store.put(request.location(), new byte[64]);
    }

    @Override
    public void delete(String location) {
      deleted.add(location);
      store.remove(location);
    }
  }

  /** A pass-through node over its child, remembering the request that opened it. */
  static final class PassThrough extends AbstractBlockDevice {
    final OpenRequest request;

    PassThrough(BlockDriver driver, OpenRequest request) {
      super(driver, request.location(), request.readOnly(), request.child());
      this.request = request;
    }

    @Override
    public long size() throws IOException {
      return childDevice().size();
    }

    @Override
    public Set<Capability> capabilities() {
      return childDevice().capabilities();
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
      childDevice().read(offset, dst);
    }

    @Override
    protected void doWrite(long offset, ByteBuffer src) throws IOException {
      childDevice().write(offset, src);
    }
  }

  /** A format that claims images starting with its magic; can be told to fail on open. */
  static class MagicFormat implements BlockDriver {
    final String name;
    final byte[] magic;
    final int score;
    final AtomicInteger probes = new AtomicInteger();
    volatile boolean failOpen;
    volatile OpenRequest lastOpen;

    MagicFormat(String name, String magic, int score) {
      this.name = name;
      this.magic = magic.getBytes(StandardCharsets.US_ASCII);
      this.score = score;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public DriverKind kind() {
      return DriverKind.FORMAT;
    }

    @Override
    public String description() {
      return "test format " + name;
    }

    @Override
    public int probe(ProbeInput input) {
      probes.incrementAndGet();
      if (input.available() < magic.length) {
        return 0;
      }
      for (int i = 0; i < magic.length; i++) {
        if (input.head().get(i) != magic[i]) {
          return 0;
        }
      }
      return score;
    }

    @Override
    public List<OptionSpec> openOptions() {
      return List.of(OptionSpec.string("tag", null, "a label"));
    }

    @Override
    public List<OptionSpec> createOptions() {
      return List.of(OptionSpec.size("size", null, "virtual size"));
    }

    @Override
    public BlockDevice open(OpenRequest request) throws IOException {
      lastOpen = request;
      if (failOpen) {
        throw new CorruptImageException(request.location(), "header.magic", 0, "x", "y");
      }
      return new PassThrough(this, request);
    }

    @Override
    public void create(CreateRequest request) throws IOException {
      if (failOpen) {
        throw new CorruptImageException(request.location(), "cannot create");
      }
      request.child().write(0, ByteBuffer.wrap(magic));
    }
  }

  /** The last-resort format. */
  static final class Raw extends MagicFormat {
    Raw() {
      super("raw", "", BlockDriver.PROBE_LAST_RESORT);
    }

    @Override
    public int probe(ProbeInput input) {
      probes.incrementAndGet();
      return BlockDriver.PROBE_LAST_RESORT;
    }
  }

  /** A filter with one option. */
  static final class Filter extends MagicFormat {
    Filter() {
      super("flt", "FLT!", 100);
    }

    @Override
    public DriverKind kind() {
      return DriverKind.FILTER;
    }
  }

  /** Breaks the probe contract by throwing. */
  static final class ThrowingFormat extends MagicFormat {
    ThrowingFormat() {
      super("thrower", "", 100);
    }

    @Override
    public int probe(ProbeInput input) {
      throw new IllegalStateException("bad driver");
    }
  }

  // Public service classes for ServiceLoader tests (need public no-arg constructors).

  public static final class ServiceAlpha extends MagicFormat {
    public ServiceAlpha() {
      super("alpha", "ALPHA", 100);
    }
  }

  public static final class ServiceBeta extends MagicFormat {
    public ServiceBeta() {
      super("beta", "BETA", 100);
    }
  }

  public static final class ServiceAlphaClone extends MagicFormat {
    public ServiceAlphaClone() {
      super("alpha", "ALPHA2", 100);
    }
  }
}
