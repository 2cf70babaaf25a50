/**
 * The read-only {@code http} and {@code https} protocols, and the block cache that every remote
 * protocol ({@code s3} too) reads through.
 *
 * <h2>Locations</h2>
 *
 * {@code http://HOST[:PORT]/PATH} and {@code https://...}: the registry splits the scheme off as
 * the protocol's name and hands the driver {@code //HOST/PATH}; the open device's location is the
 * whole URL, so a backing file named {@code base.vdi} in an image at {@code
 * https://host/dir/top.vdi} resolves to {@code https://host/dir/base.vdi}. A query string is kept
 * (pre-signed URLs work). User names and passwords in the URL are refused: blockkit sends no
 * credentials over HTTP. Redirects are followed as a browser does (never from HTTPS to HTTP).
 *
 * <h2>Reading</h2>
 *
 * Open sends one GET for byte 0: its {@code Content-Range} gives the size, its {@code ETag} (or
 * {@code Last-Modified}) the version, and its status shows that the server honours ranges. Reads
 * go through a {@code BlockCache} of 1 MiB blocks ({@code cache-size}, least recently used
 * evicted), fetched by up to {@code parallel} threads; a read that continues the previous one
 * fetches {@code readahead} bytes ahead. Every GET names the version ({@code If-Match}, else
 * {@code If-Unmodified-Since}) and its answer is checked against the version and the size, so a
 * read never mixes two versions of an object. Transient failures (5xx, 408, 429, a reset or cut
 * connection, a timeout: {@code timeout} seconds for a whole request) are retried {@code retries}
 * times, waiting 100 ms, 200 ms, ... (at most 5 s) between tries.
 *
 * <h2>Errors (one line each)</h2>
 *
 * <ul>
 *   <li>404/410: {@code Could not access 'URL': No such file or directory (HTTP 404 Not Found from
 *       HOST:PORT)}; 401/403: the same with {@code Permission denied}.
 *   <li>A 200 to a ranged GET: {@code Server HOST:PORT does not honour range requests: ...}; the
 *       body is not read.
 *   <li>A changed object (412, another ETag or size): {@code 'URL' changed on the server while it
 *       was open (...); open it again to read the new version}.
 *   <li>Retries used up: the last failure and {@code (gave up after N retries)}.
 *   <li>TLS: an untrusted certificate says so and how to trust it; a certificate for another
 *       name says that. Trust is the JVM's: the {@code javax.net.ssl.trustStore} system properties
 *       (for example in {@code JAVA_TOOL_OPTIONS}) choose the trusted authorities.
 *   <li>A refused connection or an unknown host while opening is final (no retries).
 * </ul>
 *
 * <h2>Contract</h2>
 *
 * Read-only: {@code features()} is empty, so the registry refuses read-write opens, and the
 * devices have no {@link io.blockkit.api.Capability}. Block status reports everything as data.
 * Devices are safe for concurrent readers; two readers of a missing block share one fetch.
 * Nothing is written anywhere, so there is no crash model to speak of: a failed read changes
 * nothing and the next read of the same block tries again.
 *
 * <p>{@link io.blockkit.http.RemoteDevice}, {@link io.blockkit.http.RangeSource}, {@link
 * io.blockkit.http.RemoteOptions}, {@link io.blockkit.http.Retries} and {@link
 * io.blockkit.http.TransientException} are public for other remote protocols ({@code s3}), which
 * implement only the fetching of a range.
 */
package io.blockkit.http;
