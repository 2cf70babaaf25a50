package io.blockkit.qcow2;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A view of a node that {@link #close} leaves open: create formats a node its caller owns
 * through an image opened over this view.
 */
final class KeepOpen extends AbstractBlockDevice {
  private final BlockDevice node;

  KeepOpen(BlockDevice node) {
    super(node.driver(), node.location(), node.isReadOnly(), null);
    this.node = node;
  }

  @Override
  public long size() throws IOException {
    return node.size();
  }

  @Override
  public Set<Capability> capabilities() {
    return node.capabilities();
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    node.read(offset, dst);
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    node.write(offset, src);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    node.writeZeroes(offset, length);
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    node.discard(offset, length);
  }

  @Override
  protected void doFlush() throws IOException {
    node.flush();
  }

  @Override
  protected void doTruncate(long newSize) throws IOException {
    node.truncate(newSize);
  }

  @Override
  public long allocatedSize() throws IOException {
    return node.allocatedSize();
  }
}
