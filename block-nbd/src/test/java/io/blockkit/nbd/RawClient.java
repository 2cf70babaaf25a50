package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.nbd.protocol.Nbd;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A hand-driven NBD client on a plain socket, for tests that must send exactly the bytes they
 * choose (malformed ones included) and read exactly what the server answers. Reads time out
 * after 10 s, so a server that fails to answer fails the test instead of hanging it.
 */
final class RawClient implements AutoCloseable {
  final Socket socket;
  final DataInputStream in;
  final DataOutputStream out;

  private RawClient(Socket socket) throws IOException {
    this.socket = socket;
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    this.in = new DataInputStream(socket.getInputStream());
    this.out = new DataOutputStream(socket.getOutputStream());
  }

  static RawClient connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    return new RawClient(s);
  }

  /** Reads the greeting and answers with fixed newstyle and no zeroes. */
  RawClient greet() throws IOException {
    assertEquals(Nbd.INIT_MAGIC, in.readLong());
    assertEquals(Nbd.OPTS_MAGIC, in.readLong());
    int flags = in.readUnsignedShort();
    assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, flags);
    out.writeInt(Nbd.CLIENT_FIXED_NEWSTYLE | Nbd.CLIENT_NO_ZEROES);
    out.flush();
    return this;
  }

  void option(int option, byte[] data) throws IOException {
    out.writeLong(Nbd.OPTS_MAGIC);
    out.writeInt(option);
    out.writeInt(data.length);
    out.write(data);
    out.flush();
  }

  /** One option reply. */
  record OptionReply(int option, int type, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  OptionReply reply() throws IOException {
    assertEquals(Nbd.REPLY_MAGIC, in.readLong(), "option reply magic");
    int option = in.readInt();
    int type = in.readInt();
    int length = in.readInt();
    byte[] data = new byte[length];
    in.readFully(data);
    return new OptionReply(option, type, data);
  }

  /** Sends the option and expects an ACK (after any number of other replies, returned). */
  java.util.List<OptionReply> acked(int option, byte[] data) throws IOException {
    option(option, data);
    java.util.List<OptionReply> replies = new java.util.ArrayList<>();
    while (true) {
      OptionReply r = reply();
      if (r.type() == Nbd.REP_ACK) {
        return replies;
      }
      if ((r.type() & Nbd.REP_FLAG_ERROR) != 0) {
        throw new AssertionError("option " + option + " failed: 0x"
            + Integer.toHexString(r.type()) + " " + r.text());
      }
      replies.add(r);
    }
  }

  /** INFO/GO data: the name and the info requests. */
  static byte[] infoRequest(String name, int... infos) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
    b.putInt(n.length).put(n).putShort((short) infos.length);
    for (int i : infos) {
      b.putShort((short) i);
    }
    return b.array();
  }

  /** META_CONTEXT data: the export name and the queries. */
  static byte[] contextRequest(String name, String... queries) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    int size = 4 + n.length + 4;
    for (String q : queries) {
      size += 4 + q.getBytes(StandardCharsets.UTF_8).length;
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putInt(n.length).put(n).putInt(queries.length);
    for (String q : queries) {
      byte[] qb = q.getBytes(StandardCharsets.UTF_8);
      b.putInt(qb.length).put(qb);
    }
    return b.array();
  }

  /** Fixed newstyle up to GO on {@code name}; optionally structured replies and contexts. */
  RawClient open(String name, boolean structured, String... contexts) throws IOException {
    greet();
    if (structured) {
      acked(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
      if (contexts.length > 0) {
        acked(Nbd.OPT_SET_META_CONTEXT, contextRequest(name, contexts));
      }
    }
    acked(Nbd.OPT_GO, infoRequest(name));
    return this;
  }

  void request(int flags, int type, long cookie, long offset, long length, byte[] payload)
      throws IOException {
    out.writeInt(Nbd.REQUEST_MAGIC);
    out.writeShort(flags);
    out.writeShort(type);
    out.writeLong(cookie);
    out.writeLong(offset);
    out.writeInt((int) length);
    if (payload != null) {
      out.write(payload);
    }
    out.flush();
  }

  /** A simple reply: its error and cookie (data, if any, is left to read). */
  record Simple(int error, long cookie) {}

  Simple simple() throws IOException {
    assertEquals(Nbd.SIMPLE_REPLY_MAGIC, in.readInt(), "simple reply magic");
    return new Simple(in.readInt(), in.readLong());
  }

  /** A structured reply chunk with its payload. */
  record Chunk(int flags, int type, long cookie, byte[] payload) {
    ByteBuffer data() {
      return ByteBuffer.wrap(payload);
    }
  }

  Chunk chunk() throws IOException {
    assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, in.readInt(), "structured reply magic");
    int flags = in.readUnsignedShort();
    int type = in.readUnsignedShort();
    long cookie = in.readLong();
    byte[] p = new byte[in.readInt()];
    in.readFully(p);
    return new Chunk(flags, type, cookie, p);
  }

  byte[] readBytes(int n) throws IOException {
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }

  /** True when the server closes the connection within 10 s (anything it sends first is read). */
  boolean closedByServer() throws IOException {
    InputStream s = socket.getInputStream();
    byte[] sink = new byte[8192];
    try {
      while (s.read(sink) >= 0) {
        // drain what came before the close
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (EOFException e) {
      return true;
    } catch (IOException e) {
      return true; // reset
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
