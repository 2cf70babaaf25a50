package io.blockkit.nbd.server;

import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.Tls;
import io.blockkit.nbd.protocol.Transport;
import io.blockkit.nbd.protocol.Wire;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;

/**
 * The server's side of the fixed newstyle handshake: greets, answers options until the client
 * chooses the export (GO or EXPORT_NAME) or leaves. Option data is capped; a protocol violation
 * (bad magic, unknown client flags, an option too large to skip) ends the connection.
 */
final class ServerHandshake {
  /** Option data we read and answer; more is refused with ERR_TOO_BIG (up to a skip limit). */
  static final int MAX_OPTION_DATA = 64 << 10;
  /** Option data beyond this is not even skipped: the connection is dropped. */
  static final int MAX_OPTION_SKIP = 1 << 20;

  /** What the handshake agreed on. */
  record Agreed(Transport transport, boolean structured, boolean baseAllocation,
      boolean allocationDepth) {}

  /** The connection ends here (the client aborted or broke the protocol). */
  static final class Ended extends Exception {
    private static final long serialVersionUID = 1L;

    Ended(String why) {
      super(why, null, false, false);
    }
  }

  private final Export export;
  private final SSLContext tls;
  private final boolean requireClientCertificate;
  private final BooleanSupplier shuttingDown;
  private Transport transport;
  private boolean fixed;
  private boolean noZeroes;
  private boolean structured;
  /** Selected contexts and the export name they were selected for. */
  private Set<Integer> contexts = Set.of();
  private byte[] contextExport;

  ServerHandshake(Transport transport, Export export, SSLContext tls,
      boolean requireClientCertificate, BooleanSupplier shuttingDown) {
    this.transport = transport;
    this.export = export;
    this.tls = tls;
    this.requireClientCertificate = requireClientCertificate;
    this.shuttingDown = shuttingDown;
  }

  /** The current transport (TLS once STARTTLS succeeded), for closing. */
  Transport transport() {
    return transport;
  }

  Agreed run() throws IOException, Ended {
    ByteBuffer hello = ByteBuffer.allocate(18);
    hello.putLong(Nbd.INIT_MAGIC).putLong(Nbd.OPTS_MAGIC)
        .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
    transport.write(hello);
    int clientFlags = transport.readInt();
    if ((clientFlags & ~(Nbd.CLIENT_FIXED_NEWSTYLE | Nbd.CLIENT_NO_ZEROES)) != 0) {
      throw new Ended("unknown client flags 0x" + Integer.toHexString(clientFlags));
    }
    fixed = (clientFlags & Nbd.CLIENT_FIXED_NEWSTYLE) != 0;
    noZeroes = (clientFlags & Nbd.CLIENT_NO_ZEROES) != 0;
    while (true) {
      long magic = transport.readLong();
      if (magic != Nbd.OPTS_MAGIC) {
        throw new Ended("bad option magic 0x" + Long.toHexString(magic));
      }
      int option = transport.readInt();
      long length = transport.readInt() & 0xffffffffL;
      Agreed done = option(option, length);
      if (done != null) {
        return done;
      }
    }
  }

  private Agreed option(int option, long length) throws IOException, Ended {
    if (!fixed && option != Nbd.OPT_EXPORT_NAME) {
      throw new Ended("a client without fixed newstyle sent " + Nbd.optionName(option));
    }
    if (length > MAX_OPTION_DATA) {
      if (length > MAX_OPTION_SKIP || option == Nbd.OPT_EXPORT_NAME) {
        throw new Ended(Nbd.optionName(option) + " with " + length + " bytes of data");
      }
      transport.skip(length);
      error(option, Nbd.REP_ERR_TOO_BIG, "option data of " + length + " bytes is too large");
      return null;
    }
    ByteBuffer data = Wire.read(transport, (int) length);
    if (option == Nbd.OPT_ABORT) {
      ack(option);
      throw new Ended("the client aborted");
    }
    if (shuttingDown.getAsBoolean()) {
      if (option == Nbd.OPT_EXPORT_NAME) {
        throw new Ended("shutting down");
      }
      error(option, Nbd.REP_ERR_SHUTDOWN, "the server is shutting down");
      return null;
    }
    if (tls != null && !transport.isTls() && option != Nbd.OPT_STARTTLS) {
      if (option == Nbd.OPT_EXPORT_NAME) {
        throw new Ended("EXPORT_NAME before TLS");
      }
      error(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS");
      return null;
    }
    switch (option) {
      case Nbd.OPT_EXPORT_NAME -> {
        return exportName(data);
      }
      case Nbd.OPT_LIST -> list(data);
      case Nbd.OPT_STARTTLS -> startTls(data);
      case Nbd.OPT_INFO, Nbd.OPT_GO -> {
        return infoOrGo(option, data);
      }
      case Nbd.OPT_STRUCTURED_REPLY -> structuredReply(data);
      case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(option, data);
      default -> error(option, Nbd.REP_ERR_UNSUP, "unsupported option " + option);
    }
    return null;
  }

  private Agreed exportName(ByteBuffer data) throws IOException, Ended {
    byte[] name = new byte[data.remaining()];
    data.get(name);
    if (!Arrays.equals(name, Wire.utf8(export.name))) {
      throw new Ended("EXPORT_NAME for an unknown export");
    }
    boolean useContexts = Arrays.equals(contextExport, name);
    ByteBuffer reply = ByteBuffer.allocate(noZeroes ? 10 : 134);
    reply.putLong(export.size()).putShort((short) export.transmissionFlags(structured));
    transport.write(reply.position(reply.capacity()).flip());
    return agreed(useContexts);
  }

  private Agreed agreed(boolean useContexts) {
    Set<Integer> c = useContexts ? contexts : Set.of();
    return new Agreed(transport, structured, c.contains(Export.BASE_ALLOCATION),
        c.contains(Export.ALLOCATION_DEPTH));
  }

  private void list(ByteBuffer data) throws IOException {
    if (data.hasRemaining()) {
      error(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "LIST takes no data");
      return;
    }
    byte[] name = Wire.utf8(export.name);
    byte[] description = export.description == null ? new byte[0] : Wire.utf8(export.description);
    ByteBuffer server = ByteBuffer.allocate(4 + name.length + description.length);
    server.putInt(name.length).put(name).put(description).flip();
    Wire.sendOptionReply(transport, Nbd.OPT_LIST, Nbd.REP_SERVER, server);
    ack(Nbd.OPT_LIST);
  }

  private void startTls(ByteBuffer data) throws IOException {
    if (tls == null) {
      error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not configured on this server");
    } else if (transport.isTls()) {
      error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already active");
    } else if (data.hasRemaining()) {
      error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "STARTTLS takes no data");
    } else {
      ack(Nbd.OPT_STARTTLS);
      transport = transport.startTls(Tls.serverEngine(tls, requireClientCertificate));
      // everything agreed before TLS is forgotten
      structured = false;
      contexts = Set.of();
      contextExport = null;
    }
  }

  private Agreed infoOrGo(int option, ByteBuffer data) throws IOException {
    if (data.remaining() < 6) {
      error(option, Nbd.REP_ERR_INVALID, "request too short");
      return null;
    }
    long nameLength = data.getInt() & 0xffffffffL;
    if (nameLength > data.remaining() - 2) {
      error(option, Nbd.REP_ERR_INVALID, "export name length " + nameLength
          + " exceeds the option data");
      return null;
    }
    byte[] name = new byte[(int) nameLength];
    data.get(name);
    int requests = data.getShort() & 0xffff;
    if (data.remaining() != 2 * requests) {
      error(option, Nbd.REP_ERR_INVALID, requests + " information requests do not fill "
          + data.remaining() + " bytes");
      return null;
    }
    Set<Integer> wanted = new LinkedHashSet<>();
    for (int i = 0; i < requests; i++) {
      wanted.add(data.getShort() & 0xffff);
    }
    if (!Arrays.equals(name, Wire.utf8(export.name))) {
      error(option, Nbd.REP_ERR_UNKNOWN, "no export named '"
          + Wire.printable(new String(name, java.nio.charset.StandardCharsets.UTF_8)) + "'");
      return null;
    }
    ByteBuffer info = ByteBuffer.allocate(12);
    info.putShort((short) Nbd.INFO_EXPORT).putLong(export.size())
        .putShort((short) export.transmissionFlags(structured)).flip();
    Wire.sendOptionReply(transport, option, Nbd.REP_INFO, info);
    if (wanted.contains(Nbd.INFO_NAME)) {
      byte[] n = Wire.utf8(export.name);
      Wire.sendOptionReply(transport, option, Nbd.REP_INFO,
          ByteBuffer.allocate(2 + n.length).putShort((short) Nbd.INFO_NAME).put(n).flip());
    }
    if (wanted.contains(Nbd.INFO_DESCRIPTION) && export.description != null) {
      byte[] d = Wire.utf8(export.description);
      Wire.sendOptionReply(transport, option, Nbd.REP_INFO,
          ByteBuffer.allocate(2 + d.length).putShort((short) Nbd.INFO_DESCRIPTION).put(d).flip());
    }
    // Sent whether asked or not: the sizes are the defaults any client copes with.
    ByteBuffer sizes = ByteBuffer.allocate(14);
    sizes.putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(1).putInt(Export.PREFERRED_BLOCK)
        .putInt(Nbd.MAX_PAYLOAD).flip();
    Wire.sendOptionReply(transport, option, Nbd.REP_INFO, sizes);
    ack(option);
    return option == Nbd.OPT_GO ? agreed(Arrays.equals(contextExport, name)) : null;
  }

  private void structuredReply(ByteBuffer data) throws IOException {
    if (data.hasRemaining()) {
      error(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
    } else if (structured) {
      error(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_INVALID, "structured replies already agreed");
    } else {
      structured = true;
      ack(Nbd.OPT_STRUCTURED_REPLY);
    }
  }

  private void metaContext(int option, ByteBuffer data) throws IOException {
    boolean set = option == Nbd.OPT_SET_META_CONTEXT;
    if (set) {
      contexts = Set.of(); // SET replaces the selection, even when it fails
      contextExport = null;
    }
    List<String> queries = new ArrayList<>();
    byte[] name = parseContextRequest(option, data, queries);
    if (name == null) {
      return;
    }
    if (set && !structured) {
      error(option, Nbd.REP_ERR_INVALID, "SET_META_CONTEXT needs structured replies");
      return;
    }
    if (!Arrays.equals(name, Wire.utf8(export.name))) {
      error(option, Nbd.REP_ERR_UNKNOWN, "no export named '"
          + Wire.printable(new String(name, java.nio.charset.StandardCharsets.UTF_8)) + "'");
      return;
    }
    Set<Integer> chosen = new LinkedHashSet<>();
    if (queries.isEmpty() && !set) {
      chosen.add(Export.BASE_ALLOCATION);
      chosen.add(Export.ALLOCATION_DEPTH);
    }
    for (String q : queries) {
      for (int id = 0; id < Export.CONTEXTS.size(); id++) {
        String c = Export.CONTEXTS.get(id);
        boolean namespaceQuery = !set && q.endsWith(":") && c.startsWith(q);
        if (c.equals(q) || namespaceQuery) {
          chosen.add(id);
        }
      }
    }
    for (int id : chosen) {
      byte[] c = Wire.utf8(Export.CONTEXTS.get(id));
      Wire.sendOptionReply(transport, option, Nbd.REP_META_CONTEXT,
          ByteBuffer.allocate(4 + c.length).putInt(set ? id : 0).put(c).flip());
    }
    if (set) {
      contexts = Set.copyOf(chosen);
      contextExport = name;
    }
    ack(option);
  }

  /** The export name of a META_CONTEXT request, its queries in {@code queries}; null if invalid. */
  private byte[] parseContextRequest(int option, ByteBuffer data, List<String> queries)
      throws IOException {
    if (data.remaining() < 8) {
      error(option, Nbd.REP_ERR_INVALID, "request too short");
      return null;
    }
    long nameLength = data.getInt() & 0xffffffffL;
    if (nameLength > data.remaining() - 4) {
      error(option, Nbd.REP_ERR_INVALID, "export name length exceeds the option data");
      return null;
    }
    byte[] name = new byte[(int) nameLength];
    data.get(name);
    long count = data.getInt() & 0xffffffffL;
    for (long i = 0; i < count; i++) {
      long len = data.remaining() >= 4 ? data.getInt() & 0xffffffffL : -1;
      if (len < 0 || len > data.remaining() || len > Nbd.MAX_STRING) {
        error(option, Nbd.REP_ERR_INVALID, "query " + i + " exceeds the option data");
        return null;
      }
      queries.add(Wire.string(data, (int) len));
    }
    if (data.hasRemaining()) {
      error(option, Nbd.REP_ERR_INVALID, data.remaining() + " bytes after the last query");
      return null;
    }
    return name;
  }

  private void ack(int option) throws IOException {
    Wire.sendOptionReply(transport, option, Nbd.REP_ACK, ByteBuffer.allocate(0));
  }

  private void error(int option, int type, String message) throws IOException {
    Wire.sendOptionReply(transport, option, type, ByteBuffer.wrap(Wire.utf8(message)));
  }
}
