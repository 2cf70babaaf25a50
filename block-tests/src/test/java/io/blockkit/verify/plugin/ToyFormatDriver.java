package io.blockkit.verify.plugin;

import io.blockkit.api.DriverFeature;
import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A FORMAT driver that lives only in the test classpath, registered through this module's test
 * {@code META-INF/services}: proof that a plugin is found, probed and opened with no change to the
 * core. Layout: an 8-byte magic, the virtual size as a big-endian u64, zero padding to 512 bytes,
 * then the virtual disk's bytes.
 */
public final class ToyFormatDriver implements BlockDriver {
  public static final String NAME = "toyfmt";
  static final byte[] MAGIC = "TOYFMT\r\n".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER = 512;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FORMAT;
  }

  @Override
  public String description() {
    return "Test-only toy format proving the plugin mechanism";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE);
  }

  @Override
  public int probe(ProbeInput input) {
    if (input.available() < MAGIC.length) {
      return 0;
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (input.head().get(i) != MAGIC[i]) {
        return 0;
      }
    }
    return PROBE_EXACT;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(OptionSpec.size("size", null, "Virtual size"));
  }

  @Override
  public void create(CreateRequest request) throws IOException {
    if (!request.options().has("size")) {
      throw new InvalidOptionException("Option 'size' is required for toyfmt");
    }
    ByteBuffer header = ByteBuffer.allocate(HEADER);
    header.put(MAGIC).putLong(request.options().size("size")).clear();
    request.child().write(0, header);
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    BlockDevice child = request.child();
    ByteBuffer header = ByteBuffer.allocate(16);
    if (child.size() < HEADER) {
      throw new CorruptImageException(request.location(), "file length", -1,
          String.valueOf(child.size()), "at least " + HEADER + " bytes");
    }
    child.read(0, header);
    header.flip();
    byte[] magic = new byte[MAGIC.length];
    header.get(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new CorruptImageException(request.location(), "header.magic", 0, "wrong", "TOYFMT");
    }
    long size = header.getLong();
    if (size < 0 || size > Long.MAX_VALUE - HEADER) {
      throw new CorruptImageException(request.location(), "header.size", 8,
          String.valueOf(size), "0.." + (Long.MAX_VALUE - HEADER));
    }
    return new ToyDevice(this, request, size);
  }

  private static final class ToyDevice extends AbstractBlockDevice {
    private final long size;

    ToyDevice(ToyFormatDriver driver, OpenRequest request, long size) {
      super(driver, request.location(), request.readOnly(), request.child());
      this.size = size;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public Set<Capability> capabilities() {
      return isReadOnly() ? EnumSet.noneOf(Capability.class) : EnumSet.of(Capability.WRITE);
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
      // Bytes past the child's end were never written: they read as zeros.
      long stored = Math.max(0, Math.min(dst.remaining(), childDevice().size() - HEADER - offset));
      if (stored > 0) {
        int end = dst.limit();
        dst.limit(dst.position() + (int) stored);
        childDevice().read(HEADER + offset, dst);
        dst.limit(end);
      }
      while (dst.hasRemaining()) {
        dst.put((byte) 0);
      }
    }

    @Override
    protected void doWrite(long offset, ByteBuffer src) throws IOException {
      childDevice().write(HEADER + offset, src);
    }

    @Override
    protected Map<String, Object> formatSpecific() {
      return Map.of("magic", "TOYFMT");
    }
  }
}
