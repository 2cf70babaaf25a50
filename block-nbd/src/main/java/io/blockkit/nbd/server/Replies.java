package io.blockkit.nbd.server;

import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.Transport;
import io.blockkit.nbd.protocol.Wire;
import io.blockkit.nbd.server.Transmission.Failure;
import io.blockkit.nbd.server.Transmission.Request;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Encodes replies: simple ones, or with structured replies agreed, chunks for READ (one
 * OFFSET_DATA chunk) and BLOCK_STATUS, and ERROR chunks carrying a message. Each reply is one
 * gathering write, header and data together.
 */
final class Replies {
  /** Longest error message sent (the protocol allows 4096 bytes). */
  private static final int MAX_MESSAGE = 1024;

  private final Transport transport;
  private final boolean structured;

  Replies(Transport transport, boolean structured) {
    this.transport = transport;
    this.structured = structured;
  }

  /** Success without data. */
  void ok(Request r) throws IOException {
    transport.write(simple(r, 0));
  }

  /** A successful READ with its data. */
  void data(Request r, ByteBuffer data) throws IOException {
    if (!structured) {
      transport.write(simple(r, 0), data);
    } else if (!data.hasRemaining()) {
      transport.write(chunk(r, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, 0).flip());
    } else {
      ByteBuffer h = chunk(r, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA,
          8 + data.remaining());
      h.putLong(r.offset()).flip();
      transport.write(h, data);
    }
  }

  /** One BLOCK_STATUS chunk per selected context (null entries are not selected). */
  void blockStatus(Request r, Export.Extents[] byContext) throws IOException {
    int last = byContext.length - 1;
    while (byContext[last] == null) {
      last--;
    }
    ByteBuffer[] chunks = new ByteBuffer[last + 1];
    int used = 0;
    for (int id = 0; id <= last; id++) {
      Export.Extents e = byContext[id];
      if (e == null) {
        continue;
      }
      ByteBuffer c = chunk(r, id == last ? Nbd.REPLY_FLAG_DONE : 0, Nbd.REPLY_TYPE_BLOCK_STATUS,
          4 + 8 * e.count(), 4 + 8 * e.count());
      c.putInt(id);
      for (int i = 0; i < e.count(); i++) {
        c.putInt(e.lengths()[i]).putInt(e.flags()[i]);
      }
      chunks[used++] = c.flip();
    }
    transport.write(java.util.Arrays.copyOf(chunks, used));
  }

  /** A failure: a simple reply with the error, or an ERROR chunk with its message. */
  void error(Request r, Failure f) throws IOException {
    boolean chunked = structured
        && (r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_BLOCK_STATUS);
    if (!chunked) {
      transport.write(simple(r, f.error().code()));
      return;
    }
    byte[] m = Wire.utf8(f.message());
    int n = Math.min(m.length, MAX_MESSAGE);
    ByteBuffer c = chunk(r, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, 6 + n, 6 + n);
    c.putInt(f.error().code()).putShort((short) n).put(m, 0, n);
    transport.write(c.flip());
  }

  private static ByteBuffer simple(Request r, int error) {
    ByteBuffer b = ByteBuffer.allocate(Nbd.SIMPLE_REPLY_HEADER);
    b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(r.cookie());
    return b.flip();
  }

  private static ByteBuffer chunk(Request r, int flags, int type, int length) {
    return chunk(r, flags, type, length, type == Nbd.REPLY_TYPE_OFFSET_DATA ? 8 : 0);
  }

  /** A chunk header for a payload of {@code length} bytes, with room for {@code extra} more. */
  private static ByteBuffer chunk(Request r, int flags, int type, int length, int extra) {
    ByteBuffer b = ByteBuffer.allocate(Nbd.STRUCTURED_REPLY_HEADER + extra);
    b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type)
        .putLong(r.cookie()).putInt(length);
    return b;
  }
}
