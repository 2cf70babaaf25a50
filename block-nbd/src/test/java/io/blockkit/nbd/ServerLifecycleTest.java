package io.blockkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.nbd.RawClient.Simple;
import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.server.NbdServer;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * How a server starts and stops: a stop finishes and answers the requests in flight and flushes
 * the image; without persistence it stops when the last client leaves; a connection limit makes
 * further clients wait.
 */
class ServerLifecycleTest {
  @Test
  void stoppingAnswersRequestsInFlightThenFlushes() throws Exception {
    SlowDevice slow = new SlowDevice(Served.memoryDevice(1 << 20), 700, 0);
    slow.write(0, ByteBuffer.wrap(new byte[] {5, 6, 7}));
    try (Served s = Served.serve("slow", slow, "", b -> b);
        RawClient c = RawClient.connect(s.port()).open("", false)) {
      c.request(0, Nbd.CMD_READ, 1, 0, 3, null);
      Thread.sleep(200); // the read is running on the device
      int before = slow.flushes.get();
      s.server.shutdown();
      assertEquals(new Simple(0, 1), c.simple(), "the request in flight is answered");
      assertArrayEquals(new byte[] {5, 6, 7}, c.readBytes(3));
      assertTrue(c.closedByServer(), "then the connection closes");
      assertTrue(s.server.awaitTermination(10, TimeUnit.SECONDS));
      assertTrue(slow.flushes.get() > before, "the image was flushed");
      assertThrows(java.io.IOException.class, () -> RawClient.connect(s.port()).greet(),
          "no new clients");
    }
  }

  @Test
  void withoutPersistenceTheServerStopsWhenTheLastClientLeaves() throws Exception {
    try (Served s = Served.memory(1 << 20, "", b -> b.persistent(false).maxConnections(2))) {
      assertFalse(s.server.awaitTermination(300, TimeUnit.MILLISECONDS), "stopped unused");
      RawClient a = RawClient.connect(s.port()).open("", false);
      RawClient b = RawClient.connect(s.port()).open("", false);
      a.request(0, Nbd.CMD_DISC, 1, 0, 0, null);
      a.close();
      assertFalse(s.server.awaitTermination(300, TimeUnit.MILLISECONDS), "one client is left");
      b.request(0, Nbd.CMD_FLUSH, 2, 0, 0, null);
      assertEquals(new Simple(0, 2), b.simple());
      b.close();
      assertTrue(s.server.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aConnectionLimitMakesFurtherClientsWait() throws Exception {
    try (Served s = Served.memory(1 << 20, "", b -> b.maxConnections(1))) {
      RawClient first = RawClient.connect(s.port()).open("", false);
      try (RawClient second = RawClient.connect(s.port())) {
        second.socket.setSoTimeout(500);
        assertThrows(SocketTimeoutException.class, () -> second.in.readLong(),
            "greeted while the only slot is taken");
        first.close();
        second.socket.setSoTimeout(10_000);
        assertEquals(Nbd.INIT_MAGIC, second.in.readLong(), "greeted once the slot is free");
      }
    }
    try (Served s = Served.memory(1)) {
      NbdServer.Builder b = NbdServer.builder(s.device);
      assertThrows(IllegalArgumentException.class, () -> b.maxConnections(-1));
    }
  }
}
