package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.nbd.RawClient.Simple;
import io.blockkit.nbd.protocol.Nbd;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that break the protocol, ask too much or vanish: each gets the protocol's error or a
 * closed connection, and the server goes on serving a well-behaved client (a real {@code nbd}
 * driver) throughout. Memory per connection stays bounded when a client pipelines more than the
 * image can take.
 */
class HostileClientTest {
  private static final long SIZE = 4L << 20;
  private Served served;
  private BlockDevice good;

  @BeforeEach
  void serve() throws Exception {
    served = Served.memory(SIZE, "disk", b -> b.handshakeLimit(Duration.ofSeconds(2)));
    good = new NbdDriver().open(OpenRequest.forDriver(new NbdDriver(),
        served.uri().substring(4), null, false));
  }

  @AfterEach
  void stop() throws Exception {
    good.close();
    served.close();
  }

  /** The well-behaved client still writes and reads. */
  private void othersAreStillServed() throws IOException {
    byte[] data = new byte[4096];
    new Random().nextBytes(data);
    good.write(8192, ByteBuffer.wrap(data));
    ByteBuffer back = ByteBuffer.allocate(4096);
    good.read(8192, back);
    assertArrayEquals(data, back.array(), "the other client's round trip");
  }

  private RawClient client() throws IOException {
    return RawClient.connect(served.port());
  }

  @Test
  void garbageInsteadOfAHandshakeIsDisconnected() throws Exception {
    byte[] junk = new byte[4096];
    new Random(3).nextBytes(junk);
    try (RawClient c = client()) {
      c.readBytes(18);
      c.out.write(junk);
      c.out.flush();
      assertTrue(c.closedByServer());
    }
    try (RawClient c = client()) {
      c.readBytes(18);
      c.out.writeInt(0x80); // an unknown client flag
      c.out.flush();
      assertTrue(c.closedByServer());
    }
    othersAreStillServed();
  }

  @Test
  void optionsTooLargeAreRefusedWithoutBeingRead() throws Exception {
    try (RawClient c = client().greet()) {
      long t0 = System.nanoTime();
      c.out.writeLong(Nbd.OPTS_MAGIC);
      c.out.writeInt(Nbd.OPT_GO);
      c.out.writeInt(0xfffffff0); // 4 GiB of option data announced
      c.out.flush();
      assertTrue(c.closedByServer());
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "closed at once");
    }
    try (RawClient c = client().greet()) {
      c.option(Nbd.OPT_GO, new byte[100 << 10]);
      assertEquals(Nbd.REP_ERR_TOO_BIG, c.reply().type(), "100 KiB: skipped and refused");
      c.acked(Nbd.OPT_GO, RawClient.infoRequest("disk"));
    }
    othersAreStillServed();
  }

  @Test
  void aClientThatSaysNothingIsCutOffAfterTheHandshakeLimit() throws Exception {
    try (RawClient c = client()) {
      long t0 = System.nanoTime();
      assertTrue(c.closedByServer());
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertTrue(ms >= 1500 && ms < 9000, "closed after " + ms + " ms (limit 2 s)");
    }
    othersAreStillServed();
  }

  @Test
  void oversizedRequestsFailOrDisconnect() throws Exception {
    try (RawClient c = client().open("disk", false)) {
      c.request(0, Nbd.CMD_READ, 1, 0, 0xffffffffL, null);
      assertEquals(new Simple(22, 1), c.simple(), "a 4 GiB read: EINVAL");
      c.request(0, Nbd.CMD_READ, 2, Long.MIN_VALUE, 1, null);
      assertEquals(new Simple(22, 2), c.simple(), "an offset beyond 2^63: EINVAL");
      c.request(0, Nbd.CMD_TRIM, 3, SIZE - 512, 1024, null);
      assertEquals(new Simple(22, 3), c.simple(), "a trim past the end: EINVAL");
      c.request(0, Nbd.CMD_WRITE_ZEROES, 4, SIZE, 1, null);
      assertEquals(new Simple(28, 4), c.simple(), "zeroes past the end: ENOSPC");
      c.request(0, Nbd.CMD_FLUSH, 5, 0, 0, null);
      assertEquals(new Simple(0, 5), c.simple(), "the connection goes on");
      // a write whose payload could not be buffered: the stream cannot be followed any more
      c.request(0, Nbd.CMD_WRITE, 6, 0, 64 << 20, null);
      assertTrue(c.closedByServer());
    }
    try (RawClient c = client().open("disk", false)) {
      c.out.writeInt(0x12345678); // not a request
      c.out.write(new byte[24]);
      c.out.flush();
      assertTrue(c.closedByServer());
    }
    othersAreStillServed();
  }

  @Test
  void aClientVanishingMidWriteChangesNothing() throws Exception {
    byte[] before = new byte[65536];
    good.read(0, ByteBuffer.wrap(before));
    try (RawClient c = client().open("disk", true)) {
      c.request(0, Nbd.CMD_WRITE, 1, 0, 65536, null);
      c.out.write(new byte[30000]); // then gone
      c.out.flush();
    }
    Thread.sleep(200);
    byte[] after = new byte[65536];
    good.read(0, ByteBuffer.wrap(after));
    assertArrayEquals(before, after, "a write whose data never arrived is not applied");
    othersAreStillServed();
  }

  @Test
  void manyIdleConnectionsDoNotStopService() throws Exception {
    List<RawClient> idle = new ArrayList<>();
    try {
      for (int i = 0; i < 100; i++) {
        idle.add(client());
      }
      othersAreStillServed();
    } finally {
      for (RawClient c : idle) {
        c.close();
      }
    }
    othersAreStillServed();
  }

  /**
   * A client pipelines 2 GiB of writes at an image that takes a 32 MiB write every 100 ms, and
   * never reads a reply: the server holds at most its per-connection budget (32 MiB) of data,
   * and what the client sends beyond that waits in the network.
   */
  @Test
  void memoryStaysBoundedWhenAClientPipelinesTooMuch() throws Exception {
    BlockDevice slow = new SlowDevice(Served.memoryDevice(64L << 20), 0, 100);
    try (Served s = Served.serve("slow", slow, "slow", b -> b);
        RawClient c = RawClient.connect(s.port()).open("slow", false)) {
      BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
          .stream().filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
      System.gc();
      long base = direct.getMemoryUsed();
      Thread writer = new Thread(() -> {
        byte[] chunk = new byte[32 << 20];
        try {
          for (int i = 0; i < 64; i++) {
            c.request(0, Nbd.CMD_WRITE, i, (long) (i % 2) * chunk.length, chunk.length, chunk);
          }
        } catch (IOException e) {
          // the connection is closed at the end of the test
        }
      });
      writer.setDaemon(true);
      writer.start();
      long peak = 0;
      for (int i = 0; i < 30; i++) {
        Thread.sleep(100);
        peak = Math.max(peak, direct.getMemoryUsed() - base);
      }
      assertTrue(writer.isAlive(), "the client was slowed down, not served at once");
      assertTrue(peak <= (40L << 20), "direct memory grew by " + (peak >> 20) + " MiB");
      c.close();
      writer.join(10_000);
    }
  }
}
