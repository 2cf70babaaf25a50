package io.blockkit.vhdx;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The VHDX file as the driver sees it: the child node, with the bytes of a log replayed in memory
 * on top when a read-only open found one (the replay then also lengthens the file as the log
 * says). Bytes past the child's end read as zeros; callers that must not read them compare with
 * {@link #length()}.
 */
final class ImageFile {
  private final BlockDevice child;
  private final Overlay overlay;
  /** How far the child holds bytes. */
  private final AtomicLong childLength;
  /** The file's length as the image sees it (the child's, or longer after an in-memory replay). */
  private final AtomicLong length;

  ImageFile(BlockDevice child, Overlay overlay, long childLength, long length) {
    this.child = child;
    this.overlay = overlay;
    this.childLength = new AtomicLong(childLength);
    this.length = new AtomicLong(Math.max(childLength, length));
  }

  /** A file read and written as it is. */
  static ImageFile of(BlockDevice child) throws IOException {
    long len = child.size();
    return new ImageFile(child, null, len, len);
  }

  BlockDevice child() {
    return child;
  }

  long length() {
    return length.get();
  }

  /** True when a log was replayed in memory only (the file itself still needs the replay). */
  boolean replayedInMemory() {
    return overlay != null && !overlay.isEmpty();
  }

  void read(long offset, ByteBuffer dst) throws IOException {
    int start = dst.position();
    int n = dst.remaining();
    long stored = childLength.get();
    int fromChild = (int) Math.max(0, Math.min(n, stored - offset));
    if (fromChild > 0) {
      ByteBuffer part = dst.slice().limit(fromChild);
      child.read(offset, part);
    }
    for (int i = fromChild; i < n; i++) {
      dst.put(start + i, (byte) 0);
    }
    if (overlay != null) {
      ByteBuffer view = dst.duplicate().position(start).limit(start + n);
      overlay.apply(offset, view.slice());
    }
    dst.position(start + n);
  }

  /** {@code n} bytes at {@code offset} in a new little-endian buffer. */
  ByteBuffer read(long offset, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    read(offset, b);
    b.flip();
    return b;
  }

  void write(long offset, ByteBuffer src) throws IOException {
    long end = offset + src.remaining();
    child.write(offset, src);
    grown(end);
  }

  void writeZeroes(long offset, long n) throws IOException {
    child.writeZeroes(offset, n);
    grown(offset + n);
  }

  /** Gives the space back to the storage where it can; the bytes are no longer needed. */
  void release(long offset, long n) throws IOException {
    long end = Math.min(offset + n, childLength.get());
    if (end > offset) {
      child.discard(offset, end - offset);
    }
  }

  void flush() throws IOException {
    child.flush();
  }

  /** Cuts the file to {@code newLength} where the child can, else leaves it. */
  boolean truncate(long newLength) throws IOException {
    if (!child.capabilities().contains(Capability.RESIZE)) {
      return false;
    }
    child.truncate(newLength);
    childLength.set(newLength);
    length.set(newLength);
    return true;
  }

  private void grown(long end) {
    childLength.accumulateAndGet(end, Math::max);
    length.accumulateAndGet(end, Math::max);
  }
}
