package io.blockkit.http;

import io.blockkit.api.BlockDriver;
import io.blockkit.testkit.FixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The kit's read suite for {@code http}, against nginx: random bytes a little over five cache
 * blocks long, so reads start, end and cross at block boundaries and the last block is partial.
 */
class HttpConformanceTest extends FixtureConformanceTest {
  private static Nginx nginx;

  @BeforeAll
  static void startNginx() throws IOException {
    nginx = Nginx.start(false);
  }

  @AfterAll
  static void stopNginx() throws IOException {
    if (nginx != null) {
      nginx.close();
    }
  }

  @Override
  protected BlockDriver driver() {
    return new HttpDriver();
  }

  @Override
  protected ImageFixture fixture() {
    byte[] content = new byte[5 * RemoteOptions.BLOCK_SIZE + 4321];
    random().nextBytes(content);
    return ImageFixture.ofContent("disk.img", content);
  }

  @Override
  protected String place(ImageFixture fixture) throws IOException {
    String name = newName() + ".img";
    nginx.put(name, fixture.content());
    return nginx.url(name);
  }

  @Override
  protected int naturalBlockSize() {
    return RemoteOptions.BLOCK_SIZE;
  }
}
