package io.blockkit.nbd.server;

import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.OutOfRangeException;
import io.blockkit.api.error.ReadOnlyException;
import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.NbdError;
import io.blockkit.nbd.server.ServerHandshake.Agreed;
import io.blockkit.nbd.server.Transmission.Failure;
import io.blockkit.nbd.server.Transmission.Request;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Runs requests on the export's device and answers them: checks first (command, flags, range,
 * read-only, contexts), then the device call, then the reply. A failure of the device is the
 * request's error reply; only a failure to send a reply escapes, as the connection's.
 */
final class Requests {
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

  private final Export export;
  private final Agreed agreed;
  private final Replies replies;

  Requests(Export export, Agreed agreed, Replies replies) {
    this.export = export;
    this.agreed = agreed;
    this.replies = replies;
  }

  /**
   * Serves {@code r}; {@code data} holds a write's payload, or is the buffer a read fills.
   *
   * @throws IOException only when the reply cannot be sent
   */
  void serve(Request r, ByteBuffer data) throws IOException {
    Failure f;
    Export.Extents[] status = null;
    try {
      f = check(r);
      if (f == null) {
        if (r.type() == Nbd.CMD_BLOCK_STATUS) {
          status = blockStatus(r);
        } else {
          f = run(r, data);
        }
      }
    } catch (IOException e) {
      f = failure(r, e);
    } catch (RuntimeException e) {
      f = new Failure(NbdError.EIO, "internal error: " + e);
    }
    if (f != null) {
      replies.error(r, f);
    } else if (r.type() == Nbd.CMD_READ) {
      replies.data(r, data == null ? ByteBuffer.allocate(0) : data.flip());
    } else if (status != null) {
      replies.blockStatus(r, status);
    } else {
      replies.ok(r);
    }
  }

  /** Why the request cannot run, or null. */
  private Failure check(Request r) throws IOException {
    int allowed = Nbd.CMD_FLAG_FUA;
    switch (r.type()) {
      case Nbd.CMD_READ -> allowed |= agreed.structured() ? Nbd.CMD_FLAG_DF : 0;
      case Nbd.CMD_WRITE_ZEROES -> allowed |= Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
      case Nbd.CMD_BLOCK_STATUS -> allowed |= Nbd.CMD_FLAG_REQ_ONE;
      case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE -> { }
      default -> {
        return new Failure(NbdError.EINVAL, "unknown command " + r.type());
      }
    }
    if ((r.flags() & ~allowed) != 0) {
      return new Failure(NbdError.EINVAL, "flags 0x" + Integer.toHexString(r.flags())
          + " are not valid for " + Nbd.commandName(r.type()));
    }
    boolean writes = r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_TRIM
        || r.type() == Nbd.CMD_WRITE_ZEROES;
    if (writes && export.readOnly) {
      return new Failure(NbdError.EPERM, "the export is read-only");
    }
    if (r.type() == Nbd.CMD_FLUSH) {
      return null;
    }
    long size = export.size();
    if (r.offset() < 0 || r.offset() > size || r.length() > size - r.offset()) {
      boolean grows = r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_WRITE_ZEROES;
      return new Failure(grows ? NbdError.ENOSPC : NbdError.EINVAL, "request at offset "
          + Long.toUnsignedString(r.offset()) + " of " + r.length()
          + " bytes is outside the export of " + size + " bytes");
    }
    if (r.type() == Nbd.CMD_READ && r.length() > Nbd.MAX_PAYLOAD) {
      return new Failure(NbdError.EINVAL, "read of " + r.length() + " bytes is larger than "
          + "the maximum of " + Nbd.MAX_PAYLOAD);
    }
    if (r.type() == Nbd.CMD_BLOCK_STATUS) {
      if (!agreed.baseAllocation() && !agreed.allocationDepth()) {
        return new Failure(NbdError.EINVAL, "no metadata context was selected");
      }
      if (r.length() == 0) {
        return new Failure(NbdError.EINVAL, "block status of 0 bytes");
      }
    }
    return null;
  }

  /** Runs a checked request other than BLOCK_STATUS; a failure only for FAST_ZERO. */
  private Failure run(Request r, ByteBuffer data) throws IOException {
    var device = export.device;
    long off = r.offset();
    long len = r.length();
    switch (r.type()) {
      case Nbd.CMD_READ -> {
        if (data != null) {
          device.read(off, data);
        }
      }
      case Nbd.CMD_WRITE -> {
        if (data != null) {
          device.write(off, data);
        }
      }
      case Nbd.CMD_TRIM -> device.discard(off, len);
      case Nbd.CMD_WRITE_ZEROES -> {
        Failure f = writeZeroes(r);
        if (f != null) {
          return f;
        }
      }
      case Nbd.CMD_FLUSH -> device.flush();
      default -> { } // CACHE: a hint; the device has no cache to fill
    }
    if (r.flag(Nbd.CMD_FLAG_FUA) && r.type() != Nbd.CMD_FLUSH && !export.readOnly) {
      device.flush();
    }
    return null;
  }

  /**
   * WRITE_ZEROES: the device's cheap zeroing, or with NO_HOLE zeros actually written (so the
   * range stays allocated). FAST_ZERO fails at once with ENOTSUP unless zeroing is cheap.
   */
  private Failure writeZeroes(Request r) throws IOException {
    boolean noHole = r.flag(Nbd.CMD_FLAG_NO_HOLE);
    if (r.flag(Nbd.CMD_FLAG_FAST_ZERO) && (noHole || !export.fastZero())) {
      return new Failure(NbdError.ENOTSUP, "zeroing is not faster than writing here");
    }
    if (!noHole) {
      export.device.writeZeroes(r.offset(), r.length());
      return null;
    }
    long done = 0;
    while (done < r.length()) {
      ByteBuffer z = ZEROS.duplicate();
      z.limit((int) Math.min(z.capacity(), r.length() - done));
      export.device.write(r.offset() + done, z);
      done += z.limit();
    }
    return null;
  }

  private Export.Extents[] blockStatus(Request r) throws IOException {
    boolean one = r.flag(Nbd.CMD_FLAG_REQ_ONE);
    Export.Extents base = agreed.baseAllocation()
        ? export.extents(Export.BASE_ALLOCATION, r.offset(), r.length(), one) : null;
    Export.Extents depth = agreed.allocationDepth()
        ? export.extents(Export.ALLOCATION_DEPTH, r.offset(), r.length(), one) : null;
    return new Export.Extents[] {base, depth};
  }

  private static Failure failure(Request r, IOException e) {
    String m = String.valueOf(e.getMessage());
    if (e instanceof ReadOnlyException) {
      return new Failure(NbdError.EPERM, m);
    }
    if (e instanceof OutOfRangeException) {
      boolean grows = r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_WRITE_ZEROES;
      return new Failure(grows ? NbdError.ENOSPC : NbdError.EINVAL, m);
    }
    if (e instanceof ImageAccessException a
        && a.reason() == ImageAccessException.Reason.NO_SPACE) {
      return new Failure(NbdError.ENOSPC, m);
    }
    return new Failure(NbdError.EIO, m);
  }
}
