package io.blockkit.nbd;

import io.blockkit.api.error.BlockException;
import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.Tls;
import io.blockkit.nbd.protocol.Transport;
import io.blockkit.nbd.protocol.Wire;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * The client's side of the handshake: fixed newstyle with STARTTLS (when TLS is wanted),
 * structured replies, {@code base:allocation} and GO with the block-size request, falling back
 * to EXPORT_NAME for servers without GO, to plain replies for servers without structured ones,
 * and accepting oldstyle and non-fixed newstyle servers when no TLS is asked for.
 */
final class ClientHandshake {
  /** Option reply data we accept; more is a broken or hostile server. */
  private static final int MAX_REPLY_DATA = 64 << 10;

  /**
   * What the server offers for the export.
   *
   * @param statusContext the id of base:allocation, or -1 when block status is unavailable
   */
  record Offer(Transport transport, long size, int flags, int minBlock, int preferredBlock,
      int maxPayload, boolean structured, int statusContext) {
    boolean has(int flag) {
      return (flags & flag) != 0;
    }
  }

  private final NbdUri uri;
  private final SSLContext tls;
  private final String tlsHost;
  private Transport transport;

  ClientHandshake(Transport transport, NbdUri uri, SSLContext tls, String tlsHost) {
    this.transport = transport;
    this.uri = uri;
    this.tls = tls;
    this.tlsHost = tlsHost;
  }

  /** The transport in use (TLS after STARTTLS), for closing on failure. */
  Transport transport() {
    return transport;
  }

  Offer run() throws IOException {
    try {
      return negotiate();
    } catch (EOFException e) {
      throw new BlockException("NBD server " + uri + " closed the connection during the "
          + "handshake" + (uri.exportName().isEmpty() ? "" : " (is there an export named '"
          + uri.exportName() + "'?)"), e);
    } catch (SSLException e) {
      String why = Tls.describe(e);
      String hint = why.contains("trusted authority")
          ? " (give tls-certificates=DIR with the authority's ca-cert.pem)" : "";
      throw new BlockException("TLS with NBD server " + uri + " failed: " + why + hint, e);
    } catch (BlockException e) {
      throw e;
    } catch (IOException e) {
      String hint = transport.isTls() ? " (after TLS was set up: does the server want a client "
          + "certificate? give tls-certificates=DIR with client-cert.pem and client-key.pem)" : "";
      throw new BlockException("NBD server " + uri + " broke off the handshake: "
          + Tls.describe(e) + hint, e);
    }
  }

  private Offer negotiate() throws IOException {
    long magic = transport.readLong();
    if (magic != Nbd.INIT_MAGIC) {
      throw protocol("it does not greet like an NBD server (magic 0x"
          + Long.toHexString(magic) + ")");
    }
    long style = transport.readLong();
    if (style == Nbd.OLDSTYLE_MAGIC) {
      return oldstyle();
    }
    if (style != Nbd.OPTS_MAGIC) {
      throw protocol("unknown handshake style 0x" + Long.toHexString(style));
    }
    int serverFlags = transport.readShort();
    boolean fixed = (serverFlags & Nbd.FLAG_FIXED_NEWSTYLE) != 0;
    boolean noZeroes = (serverFlags & Nbd.FLAG_NO_ZEROES) != 0;
    int clientFlags = (fixed ? Nbd.CLIENT_FIXED_NEWSTYLE : 0) | (noZeroes ? Nbd.CLIENT_NO_ZEROES : 0);
    transport.write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
    if (!fixed) {
      if (tls != null) {
        throw protocol("it does not speak fixed newstyle, so it cannot do TLS");
      }
      return exportName(noZeroes, false);
    }
    if (tls != null) {
      startTls();
    }
    boolean structured = simpleOption(Nbd.OPT_STRUCTURED_REPLY);
    int context = structured ? setMetaContext() : -1;
    ByteBuffer name = ByteBuffer.wrap(Wire.utf8(uri.exportName()));
    ByteBuffer go = ByteBuffer.allocate(4 + name.remaining() + 4);
    go.putInt(name.remaining()).put(name).putShort((short) 1)
        .putShort((short) Nbd.INFO_BLOCK_SIZE).flip();
    Wire.sendOption(transport, Nbd.OPT_GO, go);
    long size = -1;
    int flags = 0;
    int min = 1;
    int preferred = 4096;
    int max = Nbd.MAX_PAYLOAD;
    while (true) {
      Reply r = reply(Nbd.OPT_GO);
      if (r.type == Nbd.REP_ACK) {
        break;
      }
      if (r.type == Nbd.REP_ERR_UNSUP) {
        return exportName(noZeroes, structured);
      }
      if (r.isError()) {
        BlockException e = refused(r);
        abort();
        throw e;
      }
      if (r.type != Nbd.REP_INFO || r.data.remaining() < 2) {
        continue; // an unknown reply type we may ignore
      }
      int info = r.data.getShort() & 0xffff;
      if (info == Nbd.INFO_EXPORT && r.data.remaining() == 10) {
        size = r.data.getLong();
        flags = r.data.getShort() & 0xffff;
      } else if (info == Nbd.INFO_BLOCK_SIZE && r.data.remaining() == 12) {
        min = r.data.getInt();
        preferred = r.data.getInt();
        max = r.data.getInt();
      }
    }
    if (size < 0) {
      throw protocol("it finished GO without the export's size");
    }
    return offer(size, flags, min, preferred, max, structured, context);
  }

  private Offer offer(long size, int flags, int min, int preferred, int max, boolean structured,
      int context) throws BlockException {
    if (size < 0) {
      throw protocol("export size " + Long.toUnsignedString(size) + " is too large");
    }
    if (min < 1 || min > (64 << 10) || Integer.bitCount(min) != 1) {
      throw protocol("minimum block size " + Integer.toUnsignedString(min)
          + " is not a power of 2 up to 64 KiB");
    }
    // A maximum of 0xffffffff means "no limit"; we never send more than 32 MiB at once anyway.
    int payload = max < 0 || max > Nbd.MAX_PAYLOAD ? Nbd.MAX_PAYLOAD : max;
    if (payload < min) {
      throw protocol("maximum payload " + max + " is below the minimum block size " + min);
    }
    payload -= payload % min;
    return new Offer(transport, size, flags, min, Math.max(preferred, min), payload, structured,
        context);
  }

  private Offer oldstyle() throws IOException {
    long size = transport.readLong();
    int flags = transport.readInt() & 0xffff;
    transport.skip(124);
    if (tls != null) {
      throw protocol("it offers only the oldstyle handshake, which cannot do TLS");
    }
    if (!uri.exportName().isEmpty()) {
      throw new BlockException("NBD server " + uri + " has only one unnamed export "
          + "(oldstyle handshake), not '" + uri.exportName() + "'");
    }
    return offer(size, flags, 1, 4096, Nbd.MAX_PAYLOAD, false, -1);
  }

  private Offer exportName(boolean noZeroes, boolean structured) throws IOException {
    Wire.sendOption(transport, Nbd.OPT_EXPORT_NAME,
        ByteBuffer.wrap(Wire.utf8(uri.exportName())));
    long size = transport.readLong();
    int flags = transport.readShort();
    if (!noZeroes) {
      transport.skip(124);
    }
    // block status needs a context chosen together with GO; without GO there is none
    return offer(size, flags, 1, 4096, Nbd.MAX_PAYLOAD, structured, -1);
  }

  /** Ends the handshake politely (ABORT, and its reply) after the server refused the export. */
  private void abort() {
    try {
      Wire.sendOption(transport, Nbd.OPT_ABORT, ByteBuffer.allocate(0));
      reply(Nbd.OPT_ABORT);
    } catch (IOException e) {
      // the server may simply close
    }
  }

  private void startTls() throws IOException {
    Wire.sendOption(transport, Nbd.OPT_STARTTLS, ByteBuffer.allocate(0));
    Reply r = reply(Nbd.OPT_STARTTLS);
    if (r.type != Nbd.REP_ACK) {
      throw new BlockException("NBD server " + uri + " does not offer TLS"
          + r.message().map(m -> " (" + m + ")").orElse(""));
    }
    transport = transport.startTls(Tls.clientEngine(tls, tlsHost,
        uri.endpoint().isUnix() ? 0 : uri.endpoint().port()));
  }

  /** Sends an option without data; true on ACK, false on an error reply. */
  private boolean simpleOption(int option) throws IOException {
    Wire.sendOption(transport, option, ByteBuffer.allocate(0));
    Reply r = reply(option);
    if (r.type == Nbd.REP_ACK) {
      return true;
    }
    if (r.isError()) {
      return false;
    }
    throw protocol("it answered " + Nbd.optionName(option) + " with reply type " + r.type);
  }

  /** Selects base:allocation; its id, or -1 when the server does not offer it. */
  private int setMetaContext() throws IOException {
    byte[] name = Wire.utf8(uri.exportName());
    byte[] query = Wire.utf8(Nbd.CONTEXT_BASE_ALLOCATION);
    ByteBuffer b = ByteBuffer.allocate(4 + name.length + 4 + 4 + query.length);
    b.putInt(name.length).put(name).putInt(1).putInt(query.length).put(query).flip();
    Wire.sendOption(transport, Nbd.OPT_SET_META_CONTEXT, b);
    int id = -1;
    while (true) {
      Reply r = reply(Nbd.OPT_SET_META_CONTEXT);
      if (r.type == Nbd.REP_ACK) {
        return id;
      }
      if (r.isError()) {
        return -1; // an unknown export shows up in GO, with the server's words
      }
      if (r.type == Nbd.REP_META_CONTEXT && r.data.remaining() >= 4) {
        int candidate = r.data.getInt();
        String context = Wire.string(r.data, r.data.remaining());
        if (context.equals(Nbd.CONTEXT_BASE_ALLOCATION)) {
          id = candidate;
        }
      }
    }
  }

  /** One option reply. */
  private record Reply(int type, ByteBuffer data) {
    boolean isError() {
      return (type & Nbd.REP_FLAG_ERROR) != 0;
    }

    java.util.Optional<String> message() {
      if (!isError() || !data.hasRemaining()) {
        return java.util.Optional.empty();
      }
      return java.util.Optional.of(Wire.printable(
          StandardCharsets.UTF_8.decode(data.duplicate()).toString()));
    }
  }

  private Reply reply(int option) throws IOException {
    long magic = transport.readLong();
    if (magic != Nbd.REPLY_MAGIC) {
      throw protocol("bad option reply magic 0x" + Long.toHexString(magic));
    }
    int echoed = transport.readInt();
    int type = transport.readInt();
    long length = transport.readInt() & 0xffffffffL;
    if (echoed != option) {
      throw protocol("it answered " + Nbd.optionName(option) + " as if it were "
          + Nbd.optionName(echoed));
    }
    if (length > MAX_REPLY_DATA) {
      throw protocol("an option reply of " + length + " bytes");
    }
    return new Reply(type, Wire.read(transport, (int) length));
  }

  private BlockException refused(Reply r) {
    String says = r.message().map(m -> " (the server says: " + m + ")").orElse("");
    String server = "NBD server " + uri;
    String export = "'" + uri.exportName() + "'";
    return new BlockException(switch (r.type) {
      case Nbd.REP_ERR_UNKNOWN -> server + " has no export " + export + says;
      case Nbd.REP_ERR_TLS_REQD -> server + " requires TLS: use nbds:// or nbds+unix://" + says;
      case Nbd.REP_ERR_SHUTDOWN -> server + " is shutting down" + says;
      case Nbd.REP_ERR_POLICY -> server + " refuses access to export " + export + says;
      default -> server + " refused export " + export + " (error 0x"
          + Integer.toHexString(r.type) + ")" + says;
    });
  }

  private BlockException protocol(String what) {
    return new BlockException("NBD server " + uri + " broke the protocol: " + what);
  }
}
