package io.blockkit.http;

import io.blockkit.api.BlockDriver;

/**
 * The kit's read suite for {@code https}, against nginx with a self-signed certificate that this
 * JVM is told to trust the standard way ({@code javax.net.ssl.trustStore}). The module's tests run
 * one JVM per class, so the property is read here first, whatever ran before.
 */
class HttpsConformanceTest extends HttpConformanceTest {
  @Override
  boolean tls() {
    return true;
  }

  @Override
  void started(Nginx server) {
    System.setProperty("javax.net.ssl.trustStore", server.trustStore().toString());
    System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
  }

  @Override
  protected BlockDriver driver() {
    return new HttpsDriver();
  }
}
