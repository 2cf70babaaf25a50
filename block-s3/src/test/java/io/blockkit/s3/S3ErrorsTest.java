package io.blockkit.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.http.RemoteOptions;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import io.blockkit.testkit.KitSupport;
import io.blockkit.testkit.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What each way of getting S3 wrong prints (one line naming the bucket, the key and the store),
 * a changed object, an empty one, and formats probed over s3, against S3Proxy.
 */
class S3ErrorsTest {
  private static final int MIB = RemoteOptions.BLOCK_SIZE;
  private static S3Peer peer;
  private static String store;

  @BeforeAll
  static void startPeer() throws Exception {
    peer = S3Peer.shared();
    peer.bucket("errors");
    store = peer.endpoint().getHost() + ":" + peer.endpoint().getPort();
  }

  private static BlockRegistry registry(Map<String, String> envChanges) throws IOException {
    Map<String, String> env = new HashMap<>(peer.env());
    env.putAll(envChanges);
    return KitSupport.registryWith(new S3Driver(env));
  }

  private static BlockDevice open(BlockRegistry registry, String url) throws IOException {
    return registry.open(url, OpenParams.readOnlyDefaults().withWarnings(w -> { }));
  }

  @Test
  void aMissingBucketIsOneLine() {
    ImageAccessException e = assertThrows(ImageAccessException.class,
        () -> open(registry(Map.of()), "s3://no-such-bucket/disk.img"));
    assertEquals("Could not access 's3://no-such-bucket/disk.img': No such file or directory"
        + " (bucket 'no-such-bucket' does not exist at " + store + ")", e.getMessage());
  }

  @Test
  void aMissingKeyIsOneLine() {
    ImageAccessException e = assertThrows(ImageAccessException.class,
        () -> open(registry(Map.of()), "s3://errors/dir/missing.img"));
    assertEquals("Could not access 's3://errors/dir/missing.img': No such file or directory"
        + " (no object 'dir/missing.img' in bucket 'errors' at " + store + ")", e.getMessage());
  }

  @Test
  void anUnknownAccessKeyIsOneLine() {
    peer.put("errors", "a.img", new byte[512]);
    BlockException e = assertThrows(BlockException.class,
        () -> open(registry(Map.of("AWS_ACCESS_KEY_ID", "nobody")), "s3://errors/a.img"));
    assertEquals("Could not access 's3://errors/a.img': " + store + " does not know the access"
        + " key id (InvalidAccessKeyId); check AWS_ACCESS_KEY_ID or the profile", e.getMessage());
  }

  @Test
  void aWrongSecretIsOneLine() {
    peer.put("errors", "a.img", new byte[512]);
    BlockException e = assertThrows(BlockException.class,
        () -> open(registry(Map.of("AWS_SECRET_ACCESS_KEY", "wrong")), "s3://errors/a.img"));
    assertEquals("Could not access 's3://errors/a.img': the secret key does not match the"
        + " access key id (SignatureDoesNotMatch at " + store + "); check AWS_SECRET_ACCESS_KEY"
        + " or the profile", e.getMessage());
  }

  @Test
  void aRefusedConnectionIsOneLine() throws IOException {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    BlockException e = assertThrows(BlockException.class, () -> open(registry(Map.of(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:" + port)), "s3://errors/a.img"));
    assertEquals("Could not access 's3://errors/a.img': connection to 127.0.0.1:" + port
        + " refused", e.getMessage());
  }

  @Test
  void anObjectReplacedWhileOpenFailsTheRead() throws IOException {
    byte[] v1 = new byte[3 * MIB];
    new Random(1).nextBytes(v1);
    peer.put("errors", "changing.img", v1);
    try (BlockDevice d = registry(Map.of()).open("s3://errors/changing.img", OpenParams
        .readOnlyDefaults().withFormat("raw").withOptions(Map.of("file.readahead", "0")))) {
      ByteBuffer b = ByteBuffer.allocate(100);
      d.read(0, b);
      peer.put("errors", "changing.img", new byte[3 * MIB]);
      BlockException e = assertThrows(BlockException.class,
          () -> d.read(MIB, ByteBuffer.allocate(100)));
      assertTrue(e.getMessage().startsWith("'s3://errors/changing.img' changed in the store"
          + " while it was open ("), e.getMessage());
      assertTrue(e.getMessage().endsWith("); open it again to read the new version"),
          e.getMessage());
    }
  }

  @Test
  void readWriteOpensAndBadUrlsAreRefused() throws IOException {
    BlockRegistry r = registry(Map.of());
    UnsupportedFeatureException rw = assertThrows(UnsupportedFeatureException.class,
        () -> r.open("s3://errors/a.img", OpenParams.defaults()));
    assertEquals("Driver 's3' can only open images read-only", rw.getMessage());
    InvalidOptionException bad = assertThrows(InvalidOptionException.class,
        () -> open(r, "s3://errors"));
    assertEquals("'s3://errors' is not an S3 object: expected s3://BUCKET/KEY", bad.getMessage());
  }

  @Test
  void anEmptyObjectHasSizeZero() throws IOException {
    peer.put("errors", "empty.img", new byte[0]);
    try (BlockDevice d = open(registry(Map.of()), "s3://errors/empty.img")) {
      assertEquals(0, d.size());
    }
  }

  @Test
  void aVdiInABucketIsProbedAndReads() throws IOException {
    BlockRegistry r = registry(Map.of());
    byte[] virtual = new byte[4 * MIB];
    byte[] vdi;
    try (Storage storage = Storage.memory(r)) {
      r.create(storage.location("d.vdi"), "vdi", Map.of("size", "4M"));
      try (BlockDevice d = r.open(storage.location("d.vdi"), OpenParams.defaults()
          .withWarnings(w -> { }))) {
        byte[] data = new byte[MIB];
        new Random(3).nextBytes(data);
        d.write(2L * MIB, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, virtual, 2 * MIB, MIB);
        d.flush();
      }
      vdi = storage.get("d.vdi");
    }
    peer.put("errors", "images/d.vdi", vdi);
    try (BlockDevice d = open(r, "s3://errors/images/d.vdi")) {
      assertEquals("vdi", d.driver().name());
      assertEquals("s3://errors/images/d.vdi", d.info().filename());
      ByteBuffer all = ByteBuffer.allocate(virtual.length);
      d.read(0, all);
      assertArrayEquals(virtual, all.array());
    }
  }
}
