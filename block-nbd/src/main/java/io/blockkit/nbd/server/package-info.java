/**
 * An NBD server library: {@link io.blockkit.nbd.server.NbdServer} exports one open {@link
 * io.blockkit.api.BlockDevice} (any stack blockkit opens) over TCP or a Unix socket, to qemu,
 * libnbd (nbdinfo, nbdcopy) or blockkit's own {@code nbd} driver.
 * {@code blockkit serve} is a thin command over it.
 *
 * <h2>What it offers</h2>
 * <ul>
 *   <li><b>Handshake:</b> fixed newstyle (NO_ZEROES offered); options EXPORT_NAME, ABORT, LIST,
 *       STARTTLS, INFO, GO, STRUCTURED_REPLY, LIST_META_CONTEXT and SET_META_CONTEXT; anything
 *       else gets ERR_UNSUP and the handshake goes on. INFO and GO always send the block sizes:
 *       minimum 1, preferred 4096, maximum 32 MiB. One export, matched by exact name.
 *   <li><b>Contexts:</b> {@code base:allocation} (id 0: HOLE where the chain stores no data,
 *       ZERO where it reads as zeros) and {@code qemu:allocation-depth} (id 1: 0 where no layer
 *       of the backing chain allocates, else 1 + the depth of the layer that does), from {@link
 *       io.blockkit.api.BackingChain#status}. At most 16384 extents per reply.
 *   <li><b>Commands:</b> READ (one data chunk, so DF always holds), WRITE, FLUSH, TRIM (the
 *       device's discard), WRITE_ZEROES (NO_HOLE writes real zeros; FAST_ZERO fails with ENOTSUP
 *       unless the device zeroes cheaply), BLOCK_STATUS (REQ_ONE honoured), CACHE (checked, then
 *       nothing: the device has no cache to warm), DISC; FUA flushes after the command.
 *       Simple replies, or with structured replies data and error chunks carrying a message.
 *   <li><b>Transmission flags:</b> FLUSH, FUA, CACHE always; TRIM, WRITE_ZEROES and FAST_ZERO
 *       when writable; READ_ONLY when read-only; DF with structured replies; CAN_MULTI_CONN
 *       whenever more than one connection is allowed (all connections share the one open image,
 *       so any connection's flush covers every connection's writes).
 *   <li><b>TLS:</b> an {@link javax.net.ssl.SSLContext} (X.509 from PEM files with {@link
 *       io.blockkit.nbd.protocol.Tls#serverContext}); TLS is then required: every option but
 *       STARTTLS and ABORT gets ERR_TLS_REQD, and client certificates may be required.
 * </ul>
 *
 * <h2>Hostile clients and memory</h2>
 * A client that breaks the protocol (bad magic, unknown flags, a write larger than 32 MiB, more
 * than 1 MiB of option data) is disconnected; one that asks for something wrong (out of range,
 * unknown command or flag, a read over 32 MiB, block status without a context) gets the error
 * the protocol prescribes and may go on. A handshake must finish within the handshake limit
 * (10 s by default). Each connection holds at most 64 requests and 32 MiB of data at once; the
 * reader waits beyond that, so a client pipelining faster than the image can take is slowed by
 * TCP instead of growing the server. Connections beyond the limit wait in the listen queue.
 *
 * <h2>Threads, stopping, crash model</h2>
 * One accepting thread; per connection, a thread that reads requests in order and up to eight
 * workers that run them on the device and send the replies (so replies may leave out of order,
 * as the protocol allows). The device must be thread-safe, as every {@code BlockDevice} is.
 * {@link io.blockkit.nbd.server.NbdServer#shutdown()} stops accepting, cuts off handshakes,
 * stops reading requests, finishes and answers those already read, closes the connections and
 * flushes the device; without persistence the same happens when the last client leaves. A
 * write is acknowledged after the device's write returned and is durable after a FLUSH (or with
 * FUA); a client that vanishes in the middle of a write's data leaves that write unapplied.
 */
package io.blockkit.nbd.server;
