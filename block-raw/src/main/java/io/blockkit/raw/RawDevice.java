package io.blockkit.raw;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.api.FormatProber;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.ProbedRawWriteException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/** An open raw image: every request goes to the child at the same offset. */
final class RawDevice extends AbstractBlockDevice {
  /** Writes reaching into these first bytes are re-probed when the format was guessed. */
  static final int GUARDED_BYTES = 512;
  private static final Set<Capability> PASSED_THROUGH = EnumSet.of(Capability.WRITE,
      Capability.DISCARD, Capability.WRITE_ZEROES, Capability.BLOCK_STATUS, Capability.FLUSH,
      Capability.RESIZE);

  private final FormatProber probedBy;
  private final Object headLock = new Object();
  private volatile long knownSize = -1;

  RawDevice(RawDriver driver, String location, BlockDevice child, boolean readOnly,
      FormatProber probedBy) {
    super(driver, location, readOnly, child);
    this.probedBy = probedBy;
  }

  @Override
  public long size() throws IOException {
    ensureOpen();
    long size = childDevice().size();
    knownSize = size;
    return size;
  }

  /**
   * The child's size as last seen or set here: the child checks every request again anyway, so
   * the passthrough does not ask its size (an fstat for files) per request.
   */
  @Override
  protected long knownSize() throws IOException {
    long known = knownSize;
    return known >= 0 ? known : size();
  }

  /** The child's file: offsets pass through unchanged (none when probed: writes are guarded). */
  @Override
  public Optional<FileChannel> hostFile() {
    return probedBy != null && !isReadOnly() ? Optional.empty() : childDevice().hostFile();
  }

  @Override
  public Set<Capability> capabilities() {
    EnumSet<Capability> caps = EnumSet.noneOf(Capability.class);
    for (Capability c : childDevice().capabilities()) {
      if (PASSED_THROUGH.contains(c)) {
        caps.add(c);
      }
    }
    if (isReadOnly()) {
      caps.removeAll(EnumSet.of(Capability.WRITE, Capability.DISCARD, Capability.WRITE_ZEROES,
          Capability.RESIZE));
    }
    return caps;
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    childDevice().read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    if (probedBy != null && offset < GUARDED_BYTES) {
      synchronized (headLock) {
        refuseFormatChange(offset, src.duplicate());
        childDevice().write(offset, src);
      }
      return;
    }
    childDevice().write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    if (probedBy != null && offset < GUARDED_BYTES) {
      synchronized (headLock) {
        int n = (int) Math.min(length, BlockDriver.PROBE_SIZE);
        refuseFormatChange(offset, ByteBuffer.allocate(n));
        childDevice().writeZeroes(offset, length);
      }
      return;
    }
    childDevice().writeZeroes(offset, length);
  }

  /**
   * QEMU's guard for probed raw images: builds the first probe bytes as they would be after the
   * write and refuses it if another format would then claim the image.
   */
  private void refuseFormatChange(long offset, ByteBuffer data) throws IOException {
    long size = size();
    int headLength = (int) Math.min(size, BlockDriver.PROBE_SIZE);
    ByteBuffer head = ByteBuffer.allocate(headLength);
    childDevice().read(0, head);
    int n = (int) Math.min(data.remaining(), headLength - offset);
    for (int i = 0; i < n; i++) {
      head.put((int) offset + i, data.get(data.position() + i));
    }
    head.clear();
    Optional<String> other = probedBy.claim(new ProbeInput(head, size, fileName()));
    if (other.isPresent()) {
      throw new ProbedRawWriteException(location(), other.get());
    }
  }

  private String fileName() {
    try {
      Path p = Path.of(location()).getFileName();
      return p == null ? location() : p.toString();
    } catch (RuntimeException e) {
      return location();
    }
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    childDevice().discard(offset, length);
  }

  /** The child's status at the same offsets, with the child as the host of the data. */
  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    BlockDevice child = childDevice();
    Extent e = child.blockStatus(offset, length);
    return new Extent(offset, e.length(), e.data(), e.zero(), true, offset, child);
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    knownSize = -1;
    childDevice().truncate(newSize);
    knownSize = newSize;
  }
}
