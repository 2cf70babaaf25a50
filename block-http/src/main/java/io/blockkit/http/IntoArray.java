package io.blockkit.http;

import java.net.http.HttpResponse.BodySubscriber;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A body subscriber that copies the answer straight into the caller's array, so that a fetched
 * block is not assembled from a list of buffers and copied once more. Completes with the number
 * of bytes received; a body longer than the array fails (the server sent more than it said).
 */
final class IntoArray implements BodySubscriber<Integer> {
  private final byte[] dst;
  private final int length;
  private final CompletableFuture<Integer> result = new CompletableFuture<>();
  private volatile Flow.Subscription subscription;
  private volatile boolean abandoned;
  private int filled;

  IntoArray(byte[] dst, int length) {
    this.dst = dst;
    this.length = length;
  }

  @Override
  public CompletionStage<Integer> getBody() {
    return result;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    s.request(Long.MAX_VALUE);
  }

  /**
   * Stops writing into the array (the request timed out and the array may be handed to a retry);
   * what arrives from here on is dropped.
   */
  void abandon() {
    abandoned = true;
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
  }

  @Override
  public void onNext(List<ByteBuffer> items) {
    for (ByteBuffer b : items) {
      if (abandoned) {
        return;
      }
      int n = b.remaining();
      if (n > length - filled) {
        subscription.cancel();
        result.completeExceptionally(new java.io.IOException("the body is longer than the "
            + length + " bytes asked for"));
        return;
      }
      b.get(dst, filled, n);
      filled += n;
    }
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(t);
  }

  @Override
  public void onComplete() {
    result.complete(filled);
  }
}
