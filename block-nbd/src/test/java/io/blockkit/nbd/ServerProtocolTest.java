package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.nbd.RawClient.Chunk;
import io.blockkit.nbd.RawClient.OptionReply;
import io.blockkit.nbd.RawClient.Simple;
import io.blockkit.nbd.protocol.Nbd;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link io.blockkit.nbd.server.NbdServer} answers, byte for byte, to a hand-driven client:
 * the options of the handshake (LIST, INFO, GO, EXPORT_NAME, STRUCTURED_REPLY, the META_CONTEXT
 * pair, unknown ones), simple and structured replies, block status in both contexts, the
 * write-zeroes flags, and the errors the protocol prescribes.
 */
class ServerProtocolTest {
  private static final long SIZE = 8L << 20;
  private Served served;

  @BeforeEach
  void serve() throws Exception {
    served = Served.memory(SIZE, "disk", b -> b.description("a test disk"));
  }

  @AfterEach
  void stop() throws Exception {
    served.close();
  }

  private RawClient client() throws Exception {
    return RawClient.connect(served.port());
  }

  @Test
  void listInfoAndUnknownOptionsKeepTheHandshakeGoing() throws Exception {
    try (RawClient c = client().greet()) {
      List<OptionReply> list = c.acked(Nbd.OPT_LIST, new byte[0]);
      assertEquals(1, list.size());
      ByteBuffer server = ByteBuffer.wrap(list.get(0).data());
      assertEquals(Nbd.REP_SERVER, list.get(0).type());
      byte[] name = new byte[server.getInt()];
      server.get(name);
      assertEquals("disk", new String(name, StandardCharsets.UTF_8));
      assertEquals("a test disk", StandardCharsets.UTF_8.decode(server).toString());

      c.option(99, new byte[] {1, 2, 3});
      assertEquals(Nbd.REP_ERR_UNSUP, c.reply().type());

      c.option(Nbd.OPT_INFO, RawClient.infoRequest("nope"));
      OptionReply unknown = c.reply();
      assertEquals(Nbd.REP_ERR_UNKNOWN, unknown.type());
      assertTrue(unknown.text().contains("nope"), unknown.text());

      List<OptionReply> infos = c.acked(Nbd.OPT_INFO,
          RawClient.infoRequest("disk", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION));
      ByteBuffer export = info(infos, Nbd.INFO_EXPORT);
      assertEquals(SIZE, export.getLong());
      int flags = export.getShort() & 0xffff;
      assertEquals(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA
          | Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO
          | Nbd.FLAG_SEND_CACHE | Nbd.FLAG_CAN_MULTI_CONN, flags, "flags without SR");
      assertEquals("disk", StandardCharsets.UTF_8.decode(info(infos, Nbd.INFO_NAME)).toString());
      assertEquals("a test disk",
          StandardCharsets.UTF_8.decode(info(infos, Nbd.INFO_DESCRIPTION)).toString());
      ByteBuffer sizes = info(infos, Nbd.INFO_BLOCK_SIZE);
      assertEquals(1, sizes.getInt());
      assertEquals(4096, sizes.getInt());
      assertEquals(Nbd.MAX_PAYLOAD, sizes.getInt());

      c.acked(Nbd.OPT_GO, RawClient.infoRequest("disk"));
      c.request(0, Nbd.CMD_FLUSH, 7, 0, 0, null);
      assertEquals(new Simple(0, 7), c.simple());
    }
  }

  private static ByteBuffer info(List<OptionReply> replies, int type) {
    for (OptionReply r : replies) {
      ByteBuffer b = ByteBuffer.wrap(r.data());
      if (r.type() == Nbd.REP_INFO && (b.getShort() & 0xffff) == type) {
        return b;
      }
    }
    throw new AssertionError("no NBD_INFO " + type);
  }

  @Test
  void metaContextsAreListedAndSelected() throws Exception {
    try (RawClient c = client().greet()) {
      List<OptionReply> all = c.acked(Nbd.OPT_LIST_META_CONTEXT, RawClient.contextRequest("disk"));
      assertEquals(List.of(Nbd.CONTEXT_BASE_ALLOCATION, Nbd.CONTEXT_ALLOCATION_DEPTH),
          all.stream().map(ServerProtocolTest::contextName).toList());
      List<OptionReply> qemu = c.acked(Nbd.OPT_LIST_META_CONTEXT,
          RawClient.contextRequest("disk", "qemu:"));
      assertEquals(List.of(Nbd.CONTEXT_ALLOCATION_DEPTH),
          qemu.stream().map(ServerProtocolTest::contextName).toList());

      c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.contextRequest("disk", "base:allocation"));
      assertEquals(Nbd.REP_ERR_INVALID, c.reply().type(), "SET before structured replies");

      c.acked(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
      c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
      assertEquals(Nbd.REP_ERR_INVALID, c.reply().type(), "structured replies twice");
      List<OptionReply> set = c.acked(Nbd.OPT_SET_META_CONTEXT,
          RawClient.contextRequest("disk", "x-unknown:thing", "base:allocation"));
      assertEquals(1, set.size());
      assertEquals(0, ByteBuffer.wrap(set.get(0).data()).getInt(), "base:allocation's id");
      assertEquals(Nbd.CONTEXT_BASE_ALLOCATION, contextName(set.get(0)));
    }
  }

  private static String contextName(OptionReply r) {
    return new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8);
  }

  @Test
  void simpleRepliesCarryDataAndErrors() throws Exception {
    byte[] data = new byte[8192];
    new Random(1).nextBytes(data);
    try (RawClient c = client().open("disk", false)) {
      c.request(0, Nbd.CMD_WRITE, 1, 4096, data.length, data);
      assertEquals(new Simple(0, 1), c.simple());
      c.request(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 2, 65536, 10, new byte[10]);
      assertEquals(new Simple(0, 2), c.simple());
      c.request(0, Nbd.CMD_READ, 3, 4096, data.length, null);
      assertEquals(new Simple(0, 3), c.simple());
      assertArrayEquals(data, c.readBytes(data.length));

      c.request(0, Nbd.CMD_READ, 4, SIZE - 1, 2, null);
      assertEquals(new Simple(22, 4), c.simple(), "read past the end: EINVAL, no data");
      c.request(0, Nbd.CMD_WRITE, 5, SIZE, 4, new byte[4]);
      assertEquals(new Simple(28, 5), c.simple(), "write past the end: ENOSPC");
      c.request(0, Nbd.CMD_BLOCK_STATUS, 6, 0, 4096, null);
      assertEquals(new Simple(22, 6), c.simple(), "block status without a context");
      c.request(0, 99, 7, 0, 0, null);
      assertEquals(new Simple(22, 7), c.simple(), "unknown command");
      c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 8, 0, 512, null);
      assertEquals(new Simple(22, 8), c.simple(), "DF without structured replies");
      c.request(0, Nbd.CMD_TRIM, 9, 0, 4096, null);
      assertEquals(new Simple(0, 9), c.simple());
      c.request(0, Nbd.CMD_CACHE, 10, 0, SIZE, null);
      assertEquals(new Simple(0, 10), c.simple());
      c.request(0, Nbd.CMD_READ, 11, 8192, 4096, null);
      assertEquals(new Simple(0, 11), c.simple());
      assertArrayEquals(java.util.Arrays.copyOfRange(data, 4096, 8192), c.readBytes(4096),
          "the data after a trim of other bytes");
      c.request(0, Nbd.CMD_DISC, 12, 0, 0, null);
      assertTrue(c.closedByServer(), "DISC closes the connection");
    }
  }

  @Test
  void structuredRepliesAndBlockStatusInBothContexts() throws Exception {
    byte[] data = new byte[65536];
    new Random(2).nextBytes(data);
    try (RawClient c = client().open("disk", true, Nbd.CONTEXT_BASE_ALLOCATION,
        Nbd.CONTEXT_ALLOCATION_DEPTH)) {
      c.request(0, Nbd.CMD_WRITE, 1, 1 << 20, data.length, data);
      assertEquals(new Simple(0, 1), c.simple());
      c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 2, 1 << 20, data.length, null);
      Chunk read = c.chunk();
      assertEquals(Nbd.REPLY_FLAG_DONE, read.flags());
      assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, read.type());
      assertEquals(1 << 20, read.data().getLong());
      assertArrayEquals(data, java.util.Arrays.copyOfRange(read.payload(), 8, 8 + data.length));

      c.request(0, Nbd.CMD_READ, 3, SIZE, 1, null);
      Chunk error = c.chunk();
      assertEquals(Nbd.REPLY_TYPE_ERROR, error.type());
      assertEquals(Nbd.REPLY_FLAG_DONE, error.flags());
      ByteBuffer e = error.data();
      assertEquals(22, e.getInt());
      byte[] message = new byte[e.getShort()];
      e.get(message);
      assertTrue(new String(message, StandardCharsets.UTF_8).contains("outside"),
          new String(message, StandardCharsets.UTF_8));

      c.request(0, Nbd.CMD_BLOCK_STATUS, 4, 0, SIZE, null);
      Chunk first = c.chunk();
      Chunk second = c.chunk();
      assertEquals(0, first.flags(), "more chunks follow the first");
      assertEquals(Nbd.REPLY_FLAG_DONE, second.flags());
      // base:allocation (id 0): hole+zero, the data, hole+zero; allocation depth (id 1): all
      // of a base image is decided by the image itself (depth 1)
      assertEquals("0:[1048576/3, 65536/0, 7274496/3]", extents(first));
      assertEquals("1:[8388608/1]", extents(second));

      c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 5, 4096, 4096, null);
      assertEquals("0:[4096/3]", extents(c.chunk()));
      assertEquals("1:[4096/1]", extents(c.chunk()));
    }
  }

  /** "id:[length/flags, ...]". */
  private static String extents(Chunk c) {
    assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, c.type());
    ByteBuffer b = c.data();
    StringBuilder s = new StringBuilder(b.getInt() + ":[");
    while (b.hasRemaining()) {
      s.append(b.getInt() & 0xffffffffL).append('/').append(b.getInt());
      s.append(b.hasRemaining() ? ", " : "");
    }
    return s.append(']').toString();
  }

  @Test
  void writeZeroesHonoursNoHoleAndFastZero() throws Exception {
    try (RawClient c = client().open("disk", true, Nbd.CONTEXT_BASE_ALLOCATION)) {
      c.request(Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_WRITE_ZEROES, 1, 0, SIZE, null);
      assertEquals(new Simple(0, 1), c.simple(), "memory zeroes cheaply");
      c.request(Nbd.CMD_FLAG_FAST_ZERO | Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, 2, 0, 4096,
          null);
      assertEquals(new Simple(95, 2), c.simple(), "allocated zeros are not fast: ENOTSUP");
      byte[] ones = new byte[65536];
      java.util.Arrays.fill(ones, (byte) 1);
      c.request(0, Nbd.CMD_WRITE, 3, 131072, ones.length, ones);
      assertEquals(new Simple(0, 3), c.simple());
      c.request(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, 4, 131072 + 512, 1024, null);
      assertEquals(new Simple(0, 4), c.simple());
      c.request(0, Nbd.CMD_READ, 6, 131072, 2048, null);
      byte[] back = java.util.Arrays.copyOfRange(c.chunk().payload(), 8, 8 + 2048);
      byte[] expected = java.util.Arrays.copyOf(ones, 2048);
      java.util.Arrays.fill(expected, 512, 1536, (byte) 0);
      assertArrayEquals(expected, back, "zeros written exactly over the range");
      c.request(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_TRIM, 5, 0, 4096, null);
      assertEquals(new Simple(22, 5), c.simple(), "NO_HOLE is for WRITE_ZEROES only");
    }
  }

  @Test
  void exportNameEntersTransmissionAndAnUnknownNameCloses() throws Exception {
    try (RawClient c = client().greet()) {
      c.option(Nbd.OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
      assertEquals(SIZE, c.in.readLong());
      assertEquals(Nbd.FLAG_HAS_FLAGS, c.in.readUnsignedShort() & Nbd.FLAG_HAS_FLAGS);
      c.request(0, Nbd.CMD_READ, 1, 0, 16, null);
      assertEquals(new Simple(0, 1), c.simple());
      assertArrayEquals(new byte[16], c.readBytes(16), "no padding before the reply");
    }
    try (RawClient c = client().greet()) {
      c.option(Nbd.OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
      assertTrue(c.closedByServer());
    }
  }

  @Test
  void readOnlyExportsRefuseChanges() throws Exception {
    try (Served ro = Served.memory(SIZE, "", b -> b.readOnly(true).maxConnections(1));
        RawClient c = RawClient.connect(ro.port()).greet()) {
      List<OptionReply> infos = c.acked(Nbd.OPT_GO, RawClient.infoRequest(""));
      ByteBuffer export = info(infos, Nbd.INFO_EXPORT);
      export.getLong();
      assertEquals(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_READ_ONLY | Nbd.FLAG_SEND_FLUSH
          | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_CACHE, export.getShort() & 0xffff,
          "read-only, no trim or zeroes, no multi-conn with one connection");
      c.request(0, Nbd.CMD_WRITE, 1, 0, 4, new byte[] {1, 2, 3, 4});
      assertEquals(new Simple(1, 1), c.simple(), "EPERM");
      c.request(0, Nbd.CMD_TRIM, 2, 0, 4096, null);
      assertEquals(new Simple(1, 2), c.simple(), "EPERM");
      c.request(0, Nbd.CMD_READ, 3, 0, 4, null);
      assertEquals(new Simple(0, 3), c.simple());
      assertArrayEquals(new byte[4], c.readBytes(4));
    }
  }

  @Test
  void startTlsWithoutTlsIsRefusedByPolicy() throws Exception {
    try (RawClient c = client().greet()) {
      c.option(Nbd.OPT_STARTTLS, new byte[0]);
      assertEquals(Nbd.REP_ERR_POLICY, c.reply().type());
      c.option(Nbd.OPT_ABORT, new byte[0]);
      assertEquals(Nbd.REP_ACK, c.reply().type());
      assertTrue(c.closedByServer());
    }
  }
}
