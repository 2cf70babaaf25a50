package io.blockkit.http;

import io.blockkit.api.BlockDriver;
import io.blockkit.testkit.FixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;

/**
 * The kit's read suite for {@code http}, against nginx: random bytes a little over five cache
 * blocks long, so reads start, end and cross at block boundaries and the last block is partial.
 * {@link HttpsConformanceTest} runs it over TLS.
 */
class HttpConformanceTest extends FixtureConformanceTest {
  /** The server of the running class, started by its first test. */
  private static Nginx nginx;

  @AfterAll
  static void stopNginx() throws IOException {
    if (nginx != null) {
      nginx.close();
      nginx = null;
    }
  }

  /** Whether nginx serves over TLS. */
  boolean tls() {
    return false;
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
    if (nginx == null) {
      nginx = Nginx.start(tls());
      started(nginx);
    }
    String name = newName() + ".img";
    nginx.put(name, fixture.content());
    return nginx.url(name);
  }

  /** Called once the class's server runs, before the first open. */
  void started(Nginx server) {
  }

  @Override
  protected int naturalBlockSize() {
    return RemoteOptions.BLOCK_SIZE;
  }
}
