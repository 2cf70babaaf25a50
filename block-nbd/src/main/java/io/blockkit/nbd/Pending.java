package io.blockkit.nbd;

import io.blockkit.nbd.protocol.Nbd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One request in flight: what was asked, and what the replies said. The reader thread fills it
 * in and completes it; the requesting thread waits for it.
 */
final class Pending {
  final int type;
  final long offset;
  final long length;
  /** Where a READ's data goes (exactly {@code length} bytes from position 0); else null. */
  final ByteBuffer target;
  private final CountDownLatch done = new CountDownLatch(1);

  /** The first error the server reported, 0 for none. */
  int error;
  /** The server's message for that error, or null. */
  String message;
  /** Bytes of a structured READ reply's data and hole chunks, to check it covered the request. */
  long covered;
  /** BLOCK_STATUS for our context: lengths and flags, {@code extents} of them. */
  long[] extentLengths;
  int[] extentFlags;
  int extents;
  /** Set when the connection failed before the reply was complete. */
  IOException failure;

  Pending(int type, long offset, long length, ByteBuffer target) {
    this.type = type;
    this.offset = offset;
    this.length = length;
    this.target = target;
  }

  /** Records an error; the first one counts. */
  void fail(int code, String text) {
    if (error == 0) {
      error = code;
      message = text;
    }
  }

  void complete() {
    done.countDown();
  }

  /** Completes with the connection's failure, if it has not completed yet. */
  void abort(IOException why) {
    if (done.getCount() > 0) {
      failure = why;
      done.countDown();
    }
  }

  boolean await(long nanos) throws InterruptedException {
    return done.await(nanos, TimeUnit.NANOSECONDS);
  }

  /** "a read of 4096 bytes at offset 0", for messages. */
  String describe() {
    return switch (type) {
      case Nbd.CMD_FLUSH -> "a flush";
      default -> "a " + Nbd.commandName(type) + " of " + length + " bytes at offset " + offset;
    };
  }
}
