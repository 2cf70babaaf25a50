package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.ForwardingBlockDevice;

/**
 * A view of a node that {@link #close} leaves open: create formats a node its caller owns
 * through an image opened over this view.
 */
final class KeepOpen extends ForwardingBlockDevice {
  KeepOpen(BlockDevice node) {
    super(node, false);
  }
}
