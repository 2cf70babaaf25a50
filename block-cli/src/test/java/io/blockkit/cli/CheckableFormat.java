package io.blockkit.cli;

import io.blockkit.api.DriverFeature;
import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A test-only format whose header states how many corruptions, leaks and check errors its check
 * finds, so the CLI's check exit codes and repair path can be driven exactly. Layout: magic
 * "CLITEST1", then little-endian longs corruptions, leaks, check errors, then an unreadable range
 * (offset, length; reads touching it fail) and whether it fails with a plain IOException instead
 * of a DataUnavailableException, and a delay every read waits (a slow disk); data from byte 512.
 */
public final class CheckableFormat implements BlockDriver {
  static final byte[] MAGIC = "CLITEST1".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER = 512;

  @Override
  public String name() {
    return "clitest";
  }

  @Override
  public DriverKind kind() {
    return DriverKind.FORMAT;
  }

  @Override
  public String description() {
    return "Test format with scripted check results";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.CHECK, DriverFeature.REPAIR);
  }

  @Override
  public int probe(ProbeInput in) {
    if (in.available() < MAGIC.length) {
      return 0;
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (in.head().get(i) != MAGIC[i]) {
        return 0;
      }
    }
    return PROBE_EXACT;
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(OptionSpec.size("size", null, "Virtual disk size"),
        OptionSpec.integer("corruptions", "0", "corruptions check will report"),
        OptionSpec.integer("leaks", "0", "leaks check will report"),
        OptionSpec.integer("check-errors", "0", "internal errors check will report"),
        OptionSpec.size("bad-offset", "0", "start of the unreadable range"),
        OptionSpec.size("bad-length", "0", "length of the unreadable range"),
        OptionSpec.bool("bad-plain", false, "fail with a plain IOException"),
        OptionSpec.integer("read-delay-ms", "0", "milliseconds every read waits (slow disks)"));
  }

  @Override
  public void create(CreateRequest r) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
    h.put(MAGIC).putLong(r.options().integer("corruptions")).putLong(r.options().integer("leaks"))
        .putLong(r.options().integer("check-errors")).putLong(r.options().size("bad-offset"))
        .putLong(r.options().size("bad-length")).putLong(r.options().bool("bad-plain") ? 1 : 0)
        .putLong(r.options().integer("read-delay-ms")).clear();
    r.child().write(0, h);
    r.child().truncate(HEADER + r.options().size("size"));
  }

  @Override
  public BlockDevice open(OpenRequest r) throws IOException {
    if (r.child().size() < HEADER) {
      throw new CorruptImageException(r.location(), "header", 0, r.child().size() + " bytes",
          "at least " + HEADER);
    }
    ByteBuffer h = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    r.child().read(0, h);
    return new Device(this, r, h.getLong(32), h.getLong(40), h.getLong(48) != 0, h.getLong(56));
  }

  private static final class Device extends AbstractBlockDevice {
    private final long badOffset;
    private final long badLength;
    private final boolean badPlain;
    private final long readDelayMs;

    Device(BlockDriver d, OpenRequest r, long badOffset, long badLength, boolean badPlain,
        long readDelayMs) {
      super(d, r.location(), r.readOnly(), r.child());
      this.badOffset = badOffset;
      this.badLength = badLength;
      this.badPlain = badPlain;
      this.readDelayMs = readDelayMs;
    }

    @Override
    public long size() throws IOException {
      return childDevice().size() - HEADER;
    }

    @Override
    public Set<Capability> capabilities() {
      Set<Capability> s = EnumSet.of(Capability.CHECK, Capability.REPAIR);
      if (!isReadOnly()) {
        s.add(Capability.WRITE);
      }
      return s;
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
      if (readDelayMs > 0) {
        try {
          Thread.sleep(readDelayMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("read interrupted");
        }
      }
      if (badLength > 0 && offset < badOffset + badLength && badOffset < offset + dst.remaining()) {
        if (badPlain) {
          throw new IOException("Input/output error reading " + location());
        }
        throw new DataUnavailableException("Cannot read bytes " + badOffset + ".."
            + (badOffset + badLength) + " of '" + location() + "'", badOffset, badLength);
      }
      childDevice().read(HEADER + offset, dst);
    }

    @Override
    protected void doWrite(long offset, ByteBuffer src) throws IOException {
      childDevice().write(HEADER + offset, src);
    }

    @Override
    protected CheckReport doCheck(CheckMode mode) throws IOException {
      ByteBuffer h = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
      childDevice().read(0, h);
      long corruptions = h.getLong(8);
      long leaks = h.getLong(16);
      long errors = h.getLong(24);
      CheckReport.Builder b = new CheckReport.Builder();
      if (mode.repairsLeaks() && leaks > 0) {
        b.leaksFixed(leaks);
        leaks = 0;
      }
      if (mode.repairsCorruptions() && corruptions > 0) {
        b.corruptionsFixed(corruptions);
        corruptions = 0;
      }
      if (mode != CheckMode.REPORT) {
        h.putLong(8, corruptions).putLong(16, leaks).clear();
        childDevice().write(0, h);
      }
      for (long i = 0; i < corruptions; i++) {
        b.corruption("block " + i + " is used twice");
      }
      if (leaks > 0) {
        b.leaks(leaks, leaks + " clusters are allocated but unused");
      }
      for (long i = 0; i < errors; i++) {
        b.checkError("could not read table " + i);
      }
      b.imageEndOffset(childDevice().size());
      return b.build();
    }
  }
}
