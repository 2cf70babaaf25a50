package io.blockkit.s3;

import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;

/**
 * Where and how to reach the store, from the open options and the standard AWS environment
 * variables (an option wins over a variable). Credentials and a region missing here come from the
 * SDK's default chains (profile files and the rest), see {@link S3Source}.
 *
 * @param endpoint the endpoint URL of an S3-compatible store, or null for AWS
 * @param region the region, or null to ask the SDK's chain
 * @param pathStyle address buckets in the path ({@code http://host/bucket/key}) rather than in
 *     the host name
 * @param accessKey the access key id from the environment, or null
 * @param secretKey the secret access key from the environment, or null
 * @param sessionToken the session token from the environment, or null
 */
record S3Settings(URI endpoint, String region, boolean pathStyle, String accessKey,
    String secretKey, String sessionToken) {

  static S3Settings of(Options o, Map<String, String> env) throws InvalidOptionException {
    String ep = o.has(S3Driver.ENDPOINT) ? o.string(S3Driver.ENDPOINT)
        : first(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    URI endpoint = ep == null ? null : endpoint(ep);
    String region = o.has(S3Driver.REGION) ? o.string(S3Driver.REGION)
        : first(env, "AWS_REGION", "AWS_DEFAULT_REGION");
    String style = o.has(S3Driver.PATH_STYLE) ? o.string(S3Driver.PATH_STYLE) : "auto";
    boolean pathStyle = switch (style) {
      case "on" -> true;
      case "off" -> false;
      default -> "true".equalsIgnoreCase(env.get("AWS_S3_FORCE_PATH_STYLE"))
          || (endpoint != null && ipOrLocalhost(endpoint.getHost()));
    };
    String key = first(env, "AWS_ACCESS_KEY_ID");
    String secret = first(env, "AWS_SECRET_ACCESS_KEY");
    return new S3Settings(endpoint, region, pathStyle, key, secret,
        key == null ? null : first(env, "AWS_SESSION_TOKEN"));
  }

  private static URI endpoint(String ep) throws InvalidOptionException {
    try {
      URI uri = new URI(ep);
      if (uri.getHost() == null || !("http".equals(uri.getScheme())
          || "https".equals(uri.getScheme()))) {
        throw new URISyntaxException(ep, "expected http(s)://HOST[:PORT]");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new InvalidOptionException("S3 endpoint '" + ep + "' is not a URL: " + e.getReason());
    }
  }

  /** Virtual-host addressing needs a DNS name under which bucket names can go. */
  private static boolean ipOrLocalhost(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.equals("localhost") || h.startsWith("[")) {
      return true;
    }
    if (!h.matches("[0-9.]+")) {
      return false;
    }
    try {
      return InetAddress.getByName(h).getHostAddress().equals(h);
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static String first(Map<String, String> env, String... names) {
    for (String n : names) {
      String v = env.get(n);
      if (v != null && !v.isBlank()) {
        return v.trim();
      }
    }
    return null;
  }

  /** The endpoint's host[:port], or the AWS S3 endpoint, for messages. */
  String endpointLabel() {
    if (endpoint == null) {
      return "AWS S3" + (region == null ? "" : " (" + region + ")");
    }
    return endpoint.getHost() + (endpoint.getPort() < 0 ? "" : ":" + endpoint.getPort());
  }
}
