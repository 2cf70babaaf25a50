package io.blockkit.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A node that passes its requests on to another device, for filters and wrappers that change one
 * thing (fail a flush, keep the node open) and forward the rest. Size, capabilities, read,
 * write, write-zeroes, discard, block status, flush, truncate and the allocated size go to the
 * target; override the ones that differ.
 *
 * <p>Block status is forwarded without host offsets: a subclass that overrides reads would
 * otherwise name file bytes that differ from what it reads, and convert copies named bytes
 * straight from the file. A subclass whose reads are the target's may override {@link
 * #doBlockStatus} to forward them.
 *
 * <p>Closing this node closes the target only when it is the child ({@code owned}); a view that
 * must leave its target open passes {@code owned = false}.
 */
public abstract class ForwardingBlockDevice extends AbstractBlockDevice {
  private final BlockDevice target;

  /**
   * @param driver the driver this node reports
   * @param location the name this node reports
   * @param readOnly whether this node refuses changes
   * @param target the device requests go to
   * @param owned whether the target is this node's child: shown as such and closed with it
   */
  protected ForwardingBlockDevice(BlockDriver driver, String location, boolean readOnly,
      BlockDevice target, boolean owned) {
    super(driver, location, readOnly, owned ? target : null);
    this.target = target;
  }

  /**
   * A view with the target's driver, location and read-only flag.
   *
   * @param target the device requests go to
   * @param owned whether the target is this node's child: shown as such and closed with it
   */
  protected ForwardingBlockDevice(BlockDevice target, boolean owned) {
    this(target.driver(), target.location(), target.isReadOnly(), target, owned);
  }

  /** The device requests go to. */
  protected final BlockDevice target() {
    return target;
  }

  @Override
  public long size() throws IOException {
    return target.size();
  }

  @Override
  public Set<Capability> capabilities() {
    return target.capabilities();
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    target.read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    target.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    target.writeZeroes(offset, length);
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    target.discard(offset, length);
  }

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    Extent e = target.blockStatus(offset, length);
    return new Extent(e.offset(), e.length(), e.data(), e.zero(), e.allocated(), -1, null);
  }

  @Override
  protected void doFlush() throws IOException {
    target.flush();
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    target.truncate(newSize);
  }

  @Override
  public long allocatedSize() throws IOException {
    return target.allocatedSize();
  }
}
