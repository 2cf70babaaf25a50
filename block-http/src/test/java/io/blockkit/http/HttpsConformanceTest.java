package io.blockkit.http;

import io.blockkit.api.BlockDriver;
import io.blockkit.testkit.FixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The kit's read suite for {@code https}, against nginx with a self-signed certificate that this
 * JVM is told to trust the standard way ({@code javax.net.ssl.trustStore}). The module's tests run
 * one JVM per class, so the property is read here first, whatever ran before.
 */
class HttpsConformanceTest extends FixtureConformanceTest {
  private static Nginx nginx;

  @BeforeAll
  static void startNginx() throws IOException {
    nginx = Nginx.start(true);
    System.setProperty("javax.net.ssl.trustStore", nginx.trustStore().toString());
    System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
  }

  @AfterAll
  static void stopNginx() throws IOException {
    if (nginx != null) {
      nginx.close();
    }
  }

  @Override
  protected BlockDriver driver() {
    return new HttpsDriver();
  }

  @Override
  protected ImageFixture fixture() {
    byte[] content = new byte[2 * RemoteOptions.BLOCK_SIZE + 777];
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
