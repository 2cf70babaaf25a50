package io.blockkit.http;

/**
 * The read-only {@code https} protocol: {@link HttpDriver} over TLS. Certificates are checked
 * against the JVM's trust store, so the standard {@code javax.net.ssl.trustStore} system
 * properties (given for example through {@code JAVA_TOOL_OPTIONS}) choose what is trusted.
 */
public final class HttpsDriver extends HttpDriver {
  /** The {@code https} driver (for {@link java.util.ServiceLoader}). */
  public HttpsDriver() {
    super("https");
  }

  @Override
  public String description() {
    return "Read-only images on an HTTPS server (TLS trusted as the JVM trusts; ranges, cached)";
  }
}
