/**
 * What the NBD client and server share: the protocol's numbers ({@link
 * io.blockkit.nbd.protocol.Nbd}, {@link io.blockkit.nbd.protocol.NbdError}), the connection
 * ({@link io.blockkit.nbd.protocol.Transport}: blocking socket channels, TCP or Unix, plain or
 * TLS through the JDK's {@link javax.net.ssl.SSLEngine}, with STARTTLS switching one to the
 * other mid-stream), addresses ({@link io.blockkit.nbd.protocol.Endpoint}) and TLS set-up from
 * PEM files ({@link io.blockkit.nbd.protocol.Tls}, {@link io.blockkit.nbd.protocol.Pem}).
 *
 * <p>Public so that the client, the server and the CLI can use it; not a stable API for
 * embedding programs, which use {@link io.blockkit.nbd.server.NbdServer} and the drivers.
 */
package io.blockkit.nbd.protocol;
