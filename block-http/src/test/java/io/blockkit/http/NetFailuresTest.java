package io.blockkit.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class NetFailuresTest {
  /**
   * A request's timeout and the wait for its answer expire together, and either can be the one
   * that notices (HttpErrorsTest.aSlowServerTimesOut failed when the client's own timer came
   * first): both must say the same.
   */
  @Test
  void theClientsTimeoutReadsAsTheWaitsTimeout() {
    String url = "http://127.0.0.1:1/x.img";
    Duration timeout = Duration.ofSeconds(2);
    IOException client = NetFailures.describe(new HttpTimeoutException("request timed out"),
        url, "127.0.0.1:1", timeout, false);
    IOException wait = NetFailures.timedOut(url, "127.0.0.1:1", timeout,
        new TimeoutException());
    assertInstanceOf(TransientException.class, client);
    assertEquals("Could not read 'http://127.0.0.1:1/x.img': 127.0.0.1:1 did not answer within 2 s",
        client.getMessage());
    assertEquals(client.getMessage(), wait.getMessage());
  }
}
