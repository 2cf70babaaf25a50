package io.blockkit.nbd.server;

import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.NbdError;
import io.blockkit.nbd.protocol.Transport;
import io.blockkit.nbd.server.ServerHandshake.Agreed;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One connection's transmission phase. This thread reads requests (and write payloads) in order
 * and hands each to a small pool of workers, which run it on the device and send the reply, so
 * replies may leave out of order. At most {@link #MAX_IN_FLIGHT} requests and {@link #BUDGET}
 * bytes of data are held at once; beyond that the reader waits. The phase ends on DISC, on the
 * end of the stream (the client left, or the server is stopping and shut the input), or on a
 * protocol violation; requests already read are finished (and answered, unless the connection
 * broke) before it returns.
 */
final class Transmission {
  static final int MAX_IN_FLIGHT = 64;
  static final long BUDGET = Nbd.MAX_PAYLOAD;
  private static final int WORKERS = 8;
  /** How long requests already read may take to finish once the phase ends. */
  private static final long DRAIN_SECONDS = 60;

  private final Transport transport;
  private final Export export;
  private final Agreed agreed;
  private final Consumer<String> events;
  private final String peer;
  private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
  private final BufferPool pool = new BufferPool(BUDGET);
  private final ThreadPoolExecutor workers;
  private final Requests requests;
  private volatile boolean broken;

  Transmission(Transport transport, Export export, Agreed agreed, String peer,
      Consumer<String> events) {
    this.transport = transport;
    this.export = export;
    this.agreed = agreed;
    this.peer = peer;
    this.events = events;
    this.workers = new ThreadPoolExecutor(WORKERS, WORKERS, 10, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "nbd-worker " + peer);
          t.setDaemon(true);
          return t;
        });
    workers.allowCoreThreadTimeOut(true);
    this.requests = new Requests(export, agreed, new Replies(transport, agreed.structured()));
  }

  /** Reads and dispatches requests until the phase ends, then waits for those in flight. */
  void run() {
    ByteBuffer header = ByteBuffer.allocate(Nbd.REQUEST_HEADER);
    try {
      while (!broken) {
        header.clear();
        try {
          transport.readFully(header);
        } catch (EOFException e) {
          break; // the client left without DISC, or the server shut the input to stop
        }
        header.flip();
        Request r = Request.parse(header);
        if (r == null) {
          violation("bad request magic");
          break;
        }
        if (r.type() == Nbd.CMD_DISC) {
          break;
        }
        if (r.type() == Nbd.CMD_WRITE && r.length() > Nbd.MAX_PAYLOAD) {
          violation("a write of " + r.length() + " bytes (at most " + Nbd.MAX_PAYLOAD
              + " are accepted)");
          break;
        }
        inFlight.acquire();
        ByteBuffer data = null;
        try {
          if (r.hasData() && r.length() > 0) {
            data = pool.acquire((int) r.length());
          }
          if (r.type() == Nbd.CMD_WRITE && data != null) {
            transport.readFully(data);
            data.flip();
          }
        } catch (IOException | InterruptedException | RuntimeException e) {
          release(data);
          throw e;
        }
        ByteBuffer buffer = data;
        workers.execute(() -> serve(r, buffer));
      }
    } catch (EOFException e) {
      event("left in the middle of a request");
    } catch (IOException e) {
      event("connection failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      drain();
    }
  }

  private void serve(Request r, ByteBuffer data) {
    try {
      requests.serve(r, data);
    } catch (IOException e) {
      if (!broken) {
        broken = true;
        event("cannot send a reply: " + e.getMessage());
        transport.close(); // ends the reader too
      }
    } finally {
      release(data);
    }
  }

  private void release(ByteBuffer data) {
    if (data != null) {
      pool.release(data);
    }
    inFlight.release();
  }

  private void violation(String what) {
    broken = true;
    event("protocol violation: " + what + "; disconnecting");
  }

  /** Waits for requests already read; a broken connection is closed first (no replies). */
  private void drain() {
    if (broken) {
      transport.close();
    }
    workers.shutdown();
    try {
      if (!workers.awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS)) {
        event("requests still running after " + DRAIN_SECONDS + " s; closing");
        transport.close();
        workers.awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pool.close();
  }

  private void event(String what) {
    events.accept(peer + ": " + what);
  }

  /**
   * One request as read.
   *
   * @param length the header's u32 length
   */
  record Request(int flags, int type, long cookie, long offset, long length) {
    /** The request, or null when the magic is wrong. */
    static Request parse(ByteBuffer h) {
      if (h.getInt() != Nbd.REQUEST_MAGIC) {
        return null;
      }
      int flags = h.getShort() & 0xffff;
      int type = h.getShort() & 0xffff;
      return new Request(flags, type, h.getLong(), h.getLong(), h.getInt() & 0xffffffffL);
    }

    /** READ and WRITE carry data; a READ too large for a buffer is refused without one. */
    boolean hasData() {
      return (type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && length <= Nbd.MAX_PAYLOAD;
    }

    boolean flag(int f) {
      return (flags & f) != 0;
    }
  }

  /** A request's failure: the error number and a message for structured replies. */
  record Failure(NbdError error, String message) {}
}
