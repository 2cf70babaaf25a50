/**
 * The {@code nbd} protocol drivers: an export of an NBD server (qemu-nbd, nbdkit, nbd-server,
 * {@code blockkit serve}) opened as an image, so a format can be probed and stacked over it like
 * over a file. The server side is {@link io.blockkit.nbd.server}; the wire format and the TLS
 * plumbing both sides share are {@link io.blockkit.nbd.protocol}.
 *
 * <h2>Names</h2>
 * <table>
 *   <caption>NBD locations</caption>
 *   <tr><th>location</th><th>driver</th><th>meaning</th></tr>
 *   <tr><td>{@code nbd://HOST[:PORT]/NAME}</td><td>nbd</td><td>TCP, default port 10809;
 *       an empty NAME is the default export; IPv6 hosts in brackets</td></tr>
 *   <tr><td>{@code nbds://HOST[:PORT]/NAME}</td><td>nbds</td><td>the same, TLS required</td></tr>
 *   <tr><td>{@code nbd+unix:///NAME?socket=PATH}</td><td>nbd+unix</td><td>a Unix socket</td></tr>
 *   <tr><td>{@code nbds+unix:///NAME?socket=PATH}</td><td>nbds+unix</td><td>a Unix socket
 *       with TLS</td></tr>
 *   <tr><td>{@code nbd:HOST:PORT[:exportname=NAME]}, {@code nbd:unix:PATH[:exportname=NAME]}
 *       </td><td>nbd</td><td>QEMU's legacy syntax</td></tr>
 * </table>
 * The registry splits {@code scheme:rest} and hands {@code rest} to the driver named {@code
 * scheme}, so each scheme is a driver of its own (one class, {@link io.blockkit.nbd.NbdDriver},
 * four names); no change to the registry was needed. Names are percent-decoded. Query
 * parameters other than {@code socket} are the open options below; an unknown one is an error.
 *
 * <h2>Open options (also as query parameters)</h2>
 * <ul>
 *   <li>{@code timeout} (seconds, default 60): the connection, the handshake, and every reply.
 *       A server that does not answer in time fails the request and the connection; nothing
 *       waits forever.
 *   <li>{@code tls-certificates=DIR} ({@code nbds}): {@code ca-cert.pem} to trust (else the JDK's
 *       authorities) and, for servers that ask, {@code client-cert.pem} and {@code
 *       client-key.pem}: the layout qemu, nbdkit and libnbd use.
 *   <li>{@code tls-verify-peer} (default on), {@code tls-hostname} (default the URI's host; for
 *       Unix sockets no name is checked unless given).
 * </ul>
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Negotiation:</b> fixed newstyle; STARTTLS first when TLS is required; structured
 *       replies and {@code base:allocation} when the server offers them; GO asking for the block
 *       sizes, falling back to EXPORT_NAME for servers without GO. Oldstyle and non-fixed
 *       newstyle servers are accepted without TLS. A refused export (unknown name, TLS required,
 *       shutting down) is one line naming the URI and the server's own message, after a polite
 *       ABORT.
 *   <li><b>Requests</b> from any number of threads are pipelined on one connection; a reader
 *       thread matches replies to cookies and reads data straight into the caller's buffer.
 *       Reads and writes larger than the server's maximum are split and sent eight at a time;
 *       a server minimum block size above 1 is honoured by widening reads and
 *       read-modify-writing unaligned writes (aligned writes wait meanwhile).
 *   <li><b>Capabilities</b> follow the export's flags: WRITE unless read-only (opening a
 *       read-only export for writing fails at once), DISCARD with TRIM, WRITE_ZEROES with
 *       WRITE_ZEROES (else zeros are written), FLUSH with FLUSH, BLOCK_STATUS with {@code
 *       base:allocation}. No CREATE, GROW or RESIZE: an export has the size its server gives.
 *   <li><b>Block status:</b> HOLE clear is DATA, ZERO is ZERO. One reply's extents (up to 4096)
 *       answer the following calls until this device next writes; another client's writes in
 *       between may be seen a call late, as if asked a moment earlier.
 *   <li><b>Errors:</b> EPERM is {@link io.blockkit.api.error.ImageAccessException} ACCESS_DENIED,
 *       ENOSPC is NO_SPACE, ENOTSUP {@link io.blockkit.api.error.UnsupportedFeatureException},
 *       others a {@link io.blockkit.api.error.BlockException} naming the URI, the request and
 *       the server's message. A closed connection, a timeout or a reply that breaks the
 *       protocol fail every request in flight and every later one with the same message; the
 *       device must then be reopened (there is no automatic reconnect).
 *   <li><b>Crash model:</b> the server's. A write is acknowledged when its reply arrives and is
 *       durable after {@link io.blockkit.api.BlockDevice#flush()} (NBD_CMD_FLUSH) returns; a
 *       lost connection loses only unacknowledged writes.
 * </ul>
 */
package io.blockkit.nbd;
