package io.blockkit.s3;

import io.blockkit.api.BlockDriver;
import io.blockkit.http.RemoteOptions;
import io.blockkit.testkit.FixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;

/**
 * The kit's read suite for {@code s3}, against S3Proxy reached through the standard variables
 * ({@code AWS_ENDPOINT_URL} on 127.0.0.1, so path-style addressing): random bytes over three
 * cache blocks, with a key in a folder.
 */
class S3ConformanceTest extends FixtureConformanceTest {
  private static S3Peer peer;

  @BeforeAll
  static void startPeer() throws Exception {
    peer = S3Peer.shared();
    peer.bucket("images");
  }

  @Override
  protected BlockDriver driver() {
    return new S3Driver(peer.env());
  }

  @Override
  protected ImageFixture fixture() {
    byte[] content = new byte[3 * RemoteOptions.BLOCK_SIZE + 999];
    random().nextBytes(content);
    return ImageFixture.ofContent("disk.img", content);
  }

  @Override
  protected String place(ImageFixture fixture) throws IOException {
    String key = "dir/" + newName() + ".img";
    peer.put("images", key, fixture.content());
    return "s3://images/" + key;
  }

  @Override
  protected int naturalBlockSize() {
    return RemoteOptions.BLOCK_SIZE;
  }
}
