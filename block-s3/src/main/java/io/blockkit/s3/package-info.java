/**
 * The read-only {@code s3} protocol: {@code s3://BUCKET/KEY} through the AWS SDK for Java v2
 * (ranged GETs), cached, read ahead and retried by {@link io.blockkit.http.RemoteDevice} exactly
 * as {@code http} is, with the same options ({@code cache-size}, {@code readahead}, {@code
 * parallel}, {@code timeout}, {@code retries}).
 *
 * <h2>Where the store, the region and the keys come from</h2>
 *
 * <ul>
 *   <li>Endpoint: option {@code endpoint}, else {@code AWS_ENDPOINT_URL_S3}, else {@code
 *       AWS_ENDPOINT_URL}, else AWS itself.
 *   <li>Region: option {@code region}, else {@code AWS_REGION} or {@code AWS_DEFAULT_REGION},
 *       else the profile ({@code AWS_PROFILE}, {@code ~/.aws/config}), else {@code us-east-1} (on
 *       AWS a bucket in another region is still found).
 *   <li>Keys: {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY} (and {@code
 *       AWS_SESSION_TOKEN}), else the SDK's default chain (system properties, profile files, SSO,
 *       container and instance roles), else anonymous requests (public objects).
 *   <li>Addressing: path-style ({@code http://host/bucket/key}) when the endpoint is an IP
 *       address or {@code localhost}, when {@code AWS_S3_FORCE_PATH_STYLE=true}, or with option
 *       {@code path-style=on}; virtual-host style otherwise.
 * </ul>
 *
 * <h2>Errors (one line each, naming the object and the store)</h2>
 *
 * NoSuchBucket and NoSuchKey are {@code No such file or directory} with the bucket or key;
 * InvalidAccessKeyId and SignatureDoesNotMatch name the variable to check; AccessDenied is {@code
 * Permission denied}; an object replaced while open fails the read (GETs carry {@code If-Match});
 * 5xx, SlowDown, timeouts and broken connections are retried.
 *
 * <h2>Class loading</h2>
 *
 * {@link io.blockkit.s3.S3Driver} names no SDK type: listing drivers or opening another protocol
 * never loads the SDK; the first {@code s3} open does. The SDK's HTTP client is the JDK's URL
 * connection (no Netty, no Apache client). The SDK logs through SLF4J; when the program has no
 * SLF4J provider, SLF4J's own warnings are silenced so that errors stay one line.
 */
package io.blockkit.s3;
