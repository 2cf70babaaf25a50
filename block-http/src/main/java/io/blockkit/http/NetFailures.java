package io.blockkit.http;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * What a failed exchange with a server means to the user, as one line: the host cannot be found
 * or reached, its TLS certificate is not trusted or names another host, or the connection broke
 * (worth a retry).
 */
final class NetFailures {
  private NetFailures() {}

  /**
   * @param opening true while the image is being opened: a refused connection or an unknown host
   *     is then final (a wrong name or port), while later it is retried (a restarting server)
   */
  static IOException describe(Throwable t, String location, String server, Duration timeout,
      boolean opening) {
    String prefix = "Could not access '" + location + "': ";
    if (find(t, SSLException.class) != null || find(t, CertificateException.class) != null) {
      return tls(t, location, server);
    }
    if (find(t, UnresolvedAddressException.class) != null
        || find(t, UnknownHostException.class) != null) {
      return new ImageAccessException(location, Reason.NOT_FOUND, "unknown host '"
          + server.replaceFirst(":\\d+$", "") + "'", t);
    }
    if (t instanceof HttpTimeoutException) {
      return timedOut(location, server, timeout, t);
    }
    if (find(t, ConnectException.class) != null) {
      String m = prefix + "connection to " + server + " refused";
      return opening ? new BlockException(m, t) : new TransientException(m, t);
    }
    if (t instanceof IOException) {
      String m = t.getMessage();
      return new TransientException(prefix + "the connection to " + server + " failed"
          + (m == null || m.isBlank() ? "" : " (" + m + ")"), t);
    }
    return new BlockException(prefix + t, t);
  }

  /**
   * No whole answer within the timeout. One message for both timers that can notice it: the
   * client's own (the request's timeout) and the wait for the answer, which expire together.
   */
  static TransientException timedOut(String location, String server, Duration timeout,
      Throwable cause) {
    return new TransientException("Could not read '" + location + "': " + server
        + " did not answer within " + timeout.toSeconds() + " s", cause);
  }

  private static BlockException tls(Throwable t, String location, String server) {
    String prefix = "Could not access '" + location + "': ";
    String all = messages(t);
    if (find(t, CertPathBuilderException.class) != null
        || find(t, CertPathValidatorException.class) != null
        || all.contains("PKIX path") || all.contains("unable to find valid certification path")) {
      return new BlockException(prefix + "the TLS certificate of " + server + " is not trusted"
          + " (no trusted certificate authority signed it). blockkit trusts what the JVM trusts:"
          + " add the authority to a trust store and name it with"
          + " -Djavax.net.ssl.trustStore=FILE, for example in JAVA_TOOL_OPTIONS", t);
    }
    if (all.contains("No subject alternative") || all.contains("No name matching")) {
      return new BlockException(prefix + "the TLS certificate of " + server
          + " is for another host name", t);
    }
    return new BlockException(prefix + "the TLS handshake with " + server + " failed ("
        + firstMessage(t) + ")", t);
  }

  private static <T extends Throwable> T find(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    return null;
  }

  private static String messages(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      b.append(c.getMessage()).append('\n');
    }
    return b.toString();
  }

  private static String firstMessage(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        return c.getMessage();
      }
    }
    return "no detail";
  }
}
