package io.blockkit.s3;

import java.io.Closeable;
import java.net.URI;
import java.util.Map;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * S3Proxy, an S3-compatible server, in this JVM on a free loopback port with an in-memory blob
 * store and signed requests (AWS signature v2 or v4) for one key pair; and an SDK client the test
 * uses to make buckets and objects.
 */
final class S3Peer implements Closeable {
  static final String ACCESS_KEY = "blockkit-test";
  static final String SECRET_KEY = "blockkit-test-secret";

  private static S3Peer shared;

  private final S3Proxy proxy;
  private final BlobStoreContext context;
  private final S3Client client;

  private S3Peer(S3Proxy proxy, BlobStoreContext context) {
    this.proxy = proxy;
    this.context = context;
    this.client = S3Client.builder().endpointOverride(endpoint()).region(Region.US_EAST_1)
        .forcePathStyle(true).httpClient(UrlConnectionHttpClient.create())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .build();
  }

  /**
   * One peer for all the test classes of this JVM (S3Proxy takes seconds to start), stopped when
   * the JVM exits.
   */
  static synchronized S3Peer shared() throws Exception {
    if (shared == null) {
      shared = start();
      S3Peer peer = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(peer::close));
    }
    return shared;
  }

  static S3Peer start() throws Exception {
    BlobStoreContext context = ContextBuilder.newBuilder("transient")
        .credentials("identity", "credential").build(BlobStoreContext.class);
    S3Proxy proxy = S3Proxy.builder().blobStore(context.getBlobStore())
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
        .endpoint(URI.create("http://127.0.0.1:0")).build();
    proxy.start();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!"STARTED".equals(proxy.getState()) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    return new S3Peer(proxy, context);
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + proxy.getPort());
  }

  /** The standard variables that point an AWS client at this peer. */
  Map<String, String> env() {
    return Map.of("AWS_ENDPOINT_URL", endpoint().toString(), "AWS_ACCESS_KEY_ID", ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY", SECRET_KEY, "AWS_REGION", "us-east-1");
  }

  /** Makes the bucket unless it exists. */
  void bucket(String name) {
    if (client.listBuckets().buckets().stream().noneMatch(b -> b.name().equals(name))) {
      client.createBucket(b -> b.bucket(name));
    }
  }

  void put(String bucket, String key, byte[] bytes) {
    client.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(bytes));
  }

  @Override
  public void close() {
    client.close();
    try {
      proxy.stop();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      context.close();
    }
  }
}
