package io.blockkit.http;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * A test-only overlay format with nothing of its own: the file is {@code LINK NAME\n}, and the
 * image reads as its backing file NAME (resolved by the registry, next to the image). Enough to
 * see a backing chain resolve over a remote protocol while no real format with backing files is
 * merged.
 */
final class LinkFormat implements BlockDriver {
  private static final String MAGIC = "LINK ";

  @Override
  public String name() {
    return "linkfmt";
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FORMAT;
  }

  @Override
  public String description() {
    return "test overlay that reads as its backing file";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.BACKING);
  }

  @Override
  public int probe(ProbeInput input) {
    return input.headHas(0, MAGIC) ? PROBE_EXACT : 0;
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    BlockDevice file = request.child();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(file.size(), 512));
    file.read(0, head);
    String text = new String(head.array(), StandardCharsets.UTF_8);
    String name = text.substring(MAGIC.length(), text.indexOf('\n'));
    BlockDevice backing = request.related().openBacking(name, "raw").orElseThrow();
    BackingLink link = new BackingLink(name, request.related().resolve(name), "raw");
    return new AbstractBlockDevice(this, request.location(), true, file, backing) {
      @Override
      public long size() throws IOException {
        return backing().orElseThrow().size();
      }

      @Override
      public Set<Capability> capabilities() {
        return Set.of();
      }

      @Override
      protected void doRead(long offset, ByteBuffer dst) throws IOException {
        readBacking(offset, dst);
      }

      @Override
      protected BackingLink backingLink() {
        return link;
      }
    };
  }
}
