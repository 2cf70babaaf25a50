package io.blockkit.registry;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
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
    /** Devices show their location with the protocol prefix, as the real memory driver does. */
    volatile boolean showsPrefix;
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
    public Set<DriverFeature> features() {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
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
      String shown = showsPrefix ? name() + ":" + request.location() : request.location();
      ArrayDevice d = new ArrayDevice(this, shown, data, request.readOnly());
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

    @Override
    public List<String> list(String folder) {
      return store.keySet().stream()
          .filter(k -> k.startsWith(folder) && k.indexOf('/', folder.length()) < 0).sorted()
          .toList();
    }
  }

  /**
   * A format whose header is {@code LINK<backing name>\n<backing format>\n} and which allocates
   * nothing: every byte of its 1 MiB reads from the backing, for backing-chain tests.
   */
  static final class LinkFormat implements BlockDriver {
    static final int SIZE = 1 << 20;
    volatile OpenRequest lastOpen;

    /** The bytes of an image linking to {@code name} ({@code format} may be empty). */
    static byte[] image(String name, String format) {
      byte[] h = ("LINK" + name + "\n" + format + "\n").getBytes(StandardCharsets.UTF_8);
      byte[] b = new byte[Math.max(64, h.length)]; // what MemProtocol.create makes room for
      System.arraycopy(h, 0, b, 0, h.length);
      return b;
    }

    @Override
    public String name() {
      return "link";
    }

    @Override
    public DriverKind kind() {
      return DriverKind.FORMAT;
    }

    @Override
    public String description() {
      return "test format with a backing file";
    }

    @Override
    public Set<DriverFeature> features() {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.BACKING);
    }

    @Override
    public int probe(ProbeInput input) {
      return input.headHas(0, "LINK") ? 100 : 0;
    }

    @Override
    public List<OptionSpec> createOptions() {
      return List.of(OptionSpec.size("size", null, "virtual size"),
          OptionSpec.string("backing_file", null, "backing file"),
          OptionSpec.string("backing_fmt", null, "backing format"));
    }

    @Override
    public BlockDevice open(OpenRequest request) throws IOException {
      lastOpen = request;
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(512, request.child().size()));
      request.child().read(0, head);
      String[] lines = new String(head.array(), 4, head.limit() - 4, StandardCharsets.UTF_8)
          .split("\n", 3);
      String name = lines[0];
      String format = lines[1].isEmpty() ? null : lines[1];
      BlockDevice backing = name.isEmpty() ? null
          : request.related().openBacking(name, format).orElse(null);
      io.blockkit.api.BackingLink link = name.isEmpty() ? null
          : new io.blockkit.api.BackingLink(name, request.related().resolve(name), format);
      return new LinkDevice(this, request, backing, link);
    }

    @Override
    public void create(CreateRequest request) throws IOException {
      String name = (String) request.options().get("backing_file").orElse(null);
      String format = (String) request.options().get("backing_fmt").orElse(null);
      if (name != null) {
        try (BlockDevice b = request.related().openBacking(name, format).orElseThrow()) {
          b.size(); // a create that needs the backing's size would read it here
        }
      }
      request.child().write(0, ByteBuffer.wrap(image(name == null ? "" : name,
          format == null ? "" : format)));
    }
  }

  /** An image of {@link LinkFormat}: nothing allocated, everything read from the backing. */
  static final class LinkDevice extends AbstractBlockDevice {
    private final io.blockkit.api.BackingLink link;

    LinkDevice(BlockDriver driver, OpenRequest r, BlockDevice backing,
        io.blockkit.api.BackingLink link) {
      super(driver, r.location(), r.readOnly(), r.child(), backing);
      this.link = link;
    }

    @Override
    public long size() {
      return LinkFormat.SIZE;
    }

    @Override
    public Set<Capability> capabilities() {
      return EnumSet.of(Capability.BLOCK_STATUS);
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
      readBacking(offset, dst);
    }

    @Override
    protected io.blockkit.api.Extent doBlockStatus(long offset, long length) {
      return new io.blockkit.api.Extent(offset, length, false, backing().isEmpty(), false, -1,
          null);
    }

    @Override
    protected io.blockkit.api.BackingLink backingLink() {
      return link;
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
    /** A file create makes beside the image first, as a VMDK makes its extents; or null. */
    volatile String sidecar;
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
    public Set<DriverFeature> features() {
      return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
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
      if (sidecar != null) {
        try (BlockDevice side = request.related().createFile(sidecar)) {
          side.write(0, ByteBuffer.wrap(magic));
        }
      }
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
