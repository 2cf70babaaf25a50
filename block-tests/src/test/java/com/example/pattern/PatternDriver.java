package com.example.pattern;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Sizes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;

/** A read-only test disk: {@code pattern:64M} is 64 MiB where byte i is i mod 251. */
public final class PatternDriver implements BlockDriver {
  @Override public String name() { return "pattern"; }
  @Override public DriverKind kind() { return DriverKind.PROTOCOL; }
  @Override public String description() { return "Read-only test disk: byte i is i mod 251"; }
  @Override public Set<DriverFeature> features() { return Set.of(); } // read-only, nothing to create

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    long size = Sizes.parse(request.location(), "pattern size");
    return new PatternDevice(this, request.location(), size);
  }

  static final class PatternDevice extends AbstractBlockDevice {
    private final long size;

    PatternDevice(BlockDriver driver, String location, long size) {
      super(driver, location, true, null); // always read-only, no child
      this.size = size;
    }

    @Override public long size() { return size; }
    @Override public Set<Capability> capabilities() { return Set.of(); }

    // the base class has already checked: open, in range, not empty
    @Override
    protected void doRead(long offset, ByteBuffer dst) {
      while (dst.hasRemaining()) {
        dst.put((byte) (offset++ % 251));
      }
    }
  }
}
