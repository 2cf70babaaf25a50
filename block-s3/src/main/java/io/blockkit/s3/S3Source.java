package io.blockkit.s3;

import io.blockkit.api.error.BlockException;
import io.blockkit.http.RangeSource;
import io.blockkit.http.RemoteOptions;
import io.blockkit.http.Retries;
import io.blockkit.http.TransientException;
import java.io.IOException;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProviderChain;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * One S3 object, read with ranged GETs. Open asks for byte 0, which gives the size (from {@code
 * Content-Range}) and the ETag in one request and fails with S3's own error code (NoSuchBucket,
 * NoSuchKey, InvalidAccessKeyId, SignatureDoesNotMatch) where a HEAD would only say 404 or 403.
 * Every later GET carries {@code If-Match} with the ETag, and its answer is checked against the
 * size and the ETag, so that an object replaced while open fails the read.
 *
 * <p>The SDK's own retries are off: {@link Retries} retries what {@link S3Failures} calls
 * transient, with the same back-off and the same {@code retries=} option as http.
 */
final class S3Source implements RangeSource {
  private static final Region FALLBACK_REGION = Region.US_EAST_1;

  private final S3Client client;
  private final S3Url url;
  private final S3Failures failures;
  private final long size;
  private final String etag;

  private S3Source(S3Client client, S3Url url, S3Failures failures, long size, String etag) {
    this.client = client;
    this.url = url;
    this.failures = failures;
    this.size = size;
    this.etag = etag;
  }

  static S3Source open(S3Url url, S3Settings settings, RemoteOptions options) throws IOException {
    S3Failures failures = new S3Failures(url, settings);
    Slf4jQuiet.ifNoProvider();
    S3Client client = client(settings, options);
    try {
      return new Retries(options.retries()).run(() -> first(client, url, failures));
    } catch (IOException | RuntimeException e) {
      client.close();
      throw e;
    }
  }

  private static S3Source first(S3Client client, S3Url url, S3Failures failures)
      throws IOException {
    GetObjectResponse r;
    try {
      r = client.getObject(request(url, 0, 0, null), ResponseTransformer.toBytes()).response();
    } catch (SdkException e) {
      if (S3Failures.status(e) == 416) {
        return new S3Source(client, url, failures, 0, null); // empty: byte 0 does not exist
      }
      throw failures.describe(e, true);
    }
    long total = ContentRange.total(r.contentRange());
    if (total < 0) {
      throw new BlockException("Could not open '" + url + "': the store answered a ranged GET"
          + " without a valid Content-Range (" + r.contentRange() + ")");
    }
    return new S3Source(client, url, failures, total, r.eTag());
  }

  private static S3Client client(S3Settings s, RemoteOptions options) {
    S3ClientBuilder b = S3Client.builder()
        .httpClient(UrlConnectionHttpClient.builder()
            .connectionTimeout(options.timeout())
            .socketTimeout(options.timeout())
            .build())
        .overrideConfiguration(c -> c.retryStrategy(AwsRetryStrategy.doNotRetry())
            .apiCallTimeout(options.timeout()))
        .credentialsProvider(credentials(s))
        .region(s.region() != null ? Region.of(s.region()) : defaultRegion())
        .forcePathStyle(s.pathStyle())
        // Checksums only where S3 demands them: ranged GETs carry no whole-object checksum, and
        // the SDK's default (a checksum header even on a GET) trips S3-compatible stores.
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    if (s.endpoint() != null) {
      b.endpointOverride(s.endpoint());
    } else {
      b.crossRegionAccessEnabled(true); // a bucket in another region than the default works
    }
    return b.build();
  }

  /**
   * Keys from the environment; else the SDK's chain (system properties, profile files, SSO,
   * container and instance roles); else anonymous requests, which public objects allow.
   */
  private static AwsCredentialsProvider credentials(S3Settings s) {
    if (s.accessKey() != null && s.secretKey() != null) {
      return StaticCredentialsProvider.create(s.sessionToken() == null
          ? AwsBasicCredentials.create(s.accessKey(), s.secretKey())
          : AwsSessionCredentials.create(s.accessKey(), s.secretKey(), s.sessionToken()));
    }
    return AwsCredentialsProviderChain.builder().reuseLastProviderEnabled(true)
        .credentialsProviders(DefaultCredentialsProvider.builder().build(),
            AnonymousCredentialsProvider.create())
        .build();
  }

  private static Region defaultRegion() {
    try {
      return DefaultAwsRegionProviderChain.builder().build().getRegion();
    } catch (SdkException e) {
      return FALLBACK_REGION;
    }
  }

  private static GetObjectRequest request(S3Url url, long first, long last, String ifMatch) {
    GetObjectRequest.Builder b = GetObjectRequest.builder().bucket(url.bucket()).key(url.key())
        .range("bytes=" + first + "-" + last);
    if (ifMatch != null) {
      b.ifMatch(ifMatch);
    }
    return b.build();
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void fetch(long offset, byte[] dst, int length) throws IOException {
    long last = offset + length - 1;
    // The body is read straight into dst: no buffer of the SDK's in between.
    try (ResponseInputStream<GetObjectResponse> in =
        client.getObject(request(url, offset, last, etag))) {
      GetObjectResponse r = in.response();
      if (etag != null && r.eTag() != null && !etag.equals(r.eTag())) {
        throw failures.changed("its ETag was " + etag + " and is now " + r.eTag());
      }
      long total = ContentRange.total(r.contentRange());
      if (total >= 0 && total != size) {
        throw failures.changed("its size was " + size + " bytes and is now " + total);
      }
      int got = in.readNBytes(dst, 0, length);
      if (got != length || in.read() >= 0) {
        throw new TransientException("The store sent " + (got != length ? got + " of " : "more"
            + " than ") + length + " bytes at offset " + offset + " of '" + url + "'", null);
      }
    } catch (SdkException e) {
      throw failures.describe(e, false);
    } catch (IOException e) {
      if (e instanceof io.blockkit.api.error.BlockException) {
        throw e;
      }
      throw new TransientException("Could not read '" + url + "': the connection to "
          + failures.store() + " failed (" + e.getMessage() + ")", e);
    }
  }

  @Override
  public void close() {
    client.close();
  }

  /** The total of {@code bytes FIRST-LAST/TOTAL}, or -1 when missing or not a number. */
  static final class ContentRange {
    private ContentRange() {}

    static long total(String v) {
      if (v == null) {
        return -1;
      }
      int slash = v.lastIndexOf('/');
      try {
        return slash < 0 ? -1 : Long.parseLong(v.substring(slash + 1).trim());
      } catch (NumberFormatException e) {
        return -1;
      }
    }
  }
}
