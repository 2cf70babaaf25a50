package io.blockkit.nbd.server;

import io.blockkit.api.BackingChain;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.nbd.protocol.Nbd;
import java.io.IOException;
import java.util.List;

/**
 * The one image a server exports, shared by all its connections: what the handshake advertises
 * (size, transmission flags, block sizes, metadata contexts) and how block status is answered.
 */
final class Export {
  /** Context ids, as qemu numbers them: base:allocation 0, qemu:allocation-depth 1. */
  static final int BASE_ALLOCATION = 0;
  static final int ALLOCATION_DEPTH = 1;
  static final List<String> CONTEXTS =
      List.of(Nbd.CONTEXT_BASE_ALLOCATION, Nbd.CONTEXT_ALLOCATION_DEPTH);

  /** Preferred block size: the page size, where requests cost least. */
  static final int PREFERRED_BLOCK = 4096;
  /** At most this many extents per context in one block status reply (128 KiB). */
  static final int MAX_EXTENTS_PER_REPLY = 16384;

  final BlockDevice device;
  final String name;
  final String description;
  final boolean readOnly;
  final boolean multiConn;

  Export(BlockDevice device, String name, String description, boolean readOnly,
      boolean multiConn) {
    this.device = device;
    this.name = name;
    this.description = description;
    this.readOnly = readOnly || device.isReadOnly();
    this.multiConn = multiConn;
  }

  long size() throws IOException {
    return device.size();
  }

  /**
   * The transmission flags: flush and FUA always; trim, zeroes and fast zero when writable; DF
   * with structured replies; multi-conn when more than one client may connect (every connection
   * uses the same open image, so one client's flush covers every connection's writes).
   */
  int transmissionFlags(boolean structured) {
    int f = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_CACHE;
    if (readOnly) {
      f |= Nbd.FLAG_READ_ONLY;
    } else {
      f |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO;
    }
    if (structured) {
      f |= Nbd.FLAG_SEND_DF;
    }
    if (multiConn) {
      f |= Nbd.FLAG_CAN_MULTI_CONN;
    }
    return f;
  }

  /** True when zeroing can be cheaper than writing zeros (for FAST_ZERO). */
  boolean fastZero() {
    return device.capabilities().contains(Capability.WRITE_ZEROES);
  }

  /** One context's extents for a block status reply: parallel lengths and flags. */
  record Extents(int count, int[] lengths, int[] flags) {}

  /**
   * The extents of {@code context} from {@code offset}, covering at most {@code length} bytes
   * (one extent with {@code one}), neighbours with the same flags merged.
   *
   * <p>base:allocation: HOLE where the chain stores no data, ZERO where it reads as zeros (the
   * status of the layer that decides the range). qemu:allocation-depth: 0 where no layer of the
   * chain allocates the range, else 1 + the depth of the layer that does (1 = this image).
   */
  Extents extents(int context, long offset, long length, boolean one) throws IOException {
    int cap = one ? 1 : MAX_EXTENTS_PER_REPLY;
    int[] lengths = new int[Math.min(cap, 64)];
    int[] flags = new int[lengths.length];
    int n = 0;
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      BackingChain.Status s = BackingChain.status(device, pos, end - pos);
      Extent e = s.extent();
      int f = context == BASE_ALLOCATION
          ? (e.data() ? 0 : Nbd.STATE_HOLE) | (e.zero() ? Nbd.STATE_ZERO : 0)
          : e.allocated() ? s.depth() + 1 : 0;
      long len = Math.min(e.length(), end - pos);
      if (n > 0 && flags[n - 1] == f) {
        lengths[n - 1] += (int) len; // the sum stays within the request's u32 length
      } else {
        if (n == cap) {
          break;
        }
        if (n == lengths.length) {
          lengths = java.util.Arrays.copyOf(lengths, Math.min(cap, n * 2));
          flags = java.util.Arrays.copyOf(flags, lengths.length);
        }
        lengths[n] = (int) len;
        flags[n] = f;
        n++;
      }
      pos += len;
    }
    return new Extents(n, lengths, flags);
  }
}
