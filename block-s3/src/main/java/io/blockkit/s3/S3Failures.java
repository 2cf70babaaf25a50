package io.blockkit.s3;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.http.TransientException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/**
 * What an SDK exception means to the user, as one line naming the bucket, the key and the
 * store: each of S3's error codes that a reader meets gets its own sentence, and the rest keep
 * the store's code and message. Server errors, throttling, timeouts and broken connections are
 * {@link TransientException}s, retried.
 */
final class S3Failures {
  private final S3Url url;
  private final S3Settings settings;

  S3Failures(S3Url url, S3Settings settings) {
    this.url = url;
    this.settings = settings;
  }

  static int status(SdkException e) {
    return e instanceof SdkServiceException s ? s.statusCode() : -1;
  }

  /** @param opening a refused connection while opening is final (a wrong endpoint) */
  IOException describe(SdkException e, boolean opening) {
    String where = settings.endpointLabel();
    if (e instanceof AwsServiceException s) {
      String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
      int status = s.statusCode();
      if ("NoSuchBucket".equals(code)) {
        return new ImageAccessException(url.toString(), Reason.NOT_FOUND,
            "bucket '" + url.bucket() + "' does not exist at " + where, e);
      }
      if ("NoSuchKey".equals(code) || (code == null && status == 404)) {
        return new ImageAccessException(url.toString(), Reason.NOT_FOUND,
            "no object '" + url.key() + "' in bucket '" + url.bucket() + "' at " + where, e);
      }
      if ("InvalidAccessKeyId".equals(code)) {
        return new BlockException("Could not access '" + url + "': " + where + " does not know"
            + " the access key id (InvalidAccessKeyId); check AWS_ACCESS_KEY_ID or the profile", e);
      }
      if ("SignatureDoesNotMatch".equals(code)) {
        return new BlockException("Could not access '" + url + "': the secret key does not match"
            + " the access key id (SignatureDoesNotMatch at " + where + "); check"
            + " AWS_SECRET_ACCESS_KEY or the profile", e);
      }
      if ("PreconditionFailed".equals(code) || status == 412 || status == 416) {
        return changed("the store refused the request for the version opened (HTTP " + status
            + ")");
      }
      if (status == 403) {
        return new ImageAccessException(url.toString(), Reason.ACCESS_DENIED,
            (code == null ? "HTTP 403" : code) + " from " + where, e);
      }
      String line = "Could not read '" + url + "': " + (code == null ? "HTTP " + status : code)
          + " from " + where + message(s);
      if ((status >= 500 && status != 501) || status == 429 || "SlowDown".equals(code)
          || "RequestTimeout".equals(code)) {
        return new TransientException(line, e);
      }
      return new BlockException(line, e);
    }
    if (e instanceof ApiCallTimeoutException) {
      return new TransientException("Could not read '" + url + "': " + where
          + " did not answer in time", e);
    }
    String m = String.valueOf(e.getMessage());
    if (find(e, UnknownHostException.class)) {
      return new ImageAccessException(url.toString(), Reason.NOT_FOUND, "unknown host for "
          + where + (settings.pathStyle() ? "" : "; an S3-compatible store may need"
          + " path-style=on or AWS_S3_FORCE_PATH_STYLE=true"), e);
    }
    if (find(e, ConnectException.class)) {
      String line = "Could not access '" + url + "': connection to " + where + " refused";
      return opening ? new BlockException(line, e) : new TransientException(line, e);
    }
    if (find(e, IOException.class)) {
      return new TransientException("Could not read '" + url + "': the connection to " + where
          + " failed (" + m + ")", e);
    }
    return new BlockException("Could not access '" + url + "': " + m, e);
  }

  /** The store, for messages: its host[:port], or AWS S3. */
  String store() {
    return settings.endpointLabel();
  }

  BlockException changed(String how) {
    return new BlockException("'" + url + "' changed in the store while it was open (" + how
        + "); open it again to read the new version");
  }

  private static String message(AwsServiceException s) {
    String m = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorMessage();
    return m == null || m.isBlank() ? "" : ": " + m;
  }

  private static boolean find(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }
}
