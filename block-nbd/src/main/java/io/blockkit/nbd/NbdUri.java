package io.blockkit.nbd;

import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.nbd.protocol.Endpoint;
import io.blockkit.nbd.protocol.Nbd;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An NBD server and export as a URI names them ({@code nbd://HOST[:PORT]/NAME}, {@code
 * nbds://...}, {@code nbd+unix:///NAME?socket=PATH}, {@code nbds+unix://...}), or in QEMU's
 * legacy form ({@code nbd:HOST:PORT[:exportname=NAME]}, {@code nbd:unix:PATH[:exportname=NAME]}).
 *
 * @param text the URI as given, for messages
 * @param endpoint where the server listens
 * @param exportName the export (empty: the default export)
 * @param tls whether TLS is required (the {@code nbds} schemes)
 * @param query the query's parameters other than {@code socket}
 */
record NbdUri(String text, Endpoint endpoint, String exportName, boolean tls,
    Map<String, String> query) {

  /**
   * Parses what follows {@code scheme:}.
   *
   * @param scheme nbd, nbds, nbd+unix or nbds+unix
   * @throws InvalidOptionException naming the URI and what is wrong with it
   */
  static NbdUri parse(String scheme, String rest) throws InvalidOptionException {
    String text = scheme + ":" + rest;
    boolean unix = scheme.endsWith("+unix");
    boolean tls = scheme.startsWith("nbds");
    if (!rest.startsWith("//")) {
      if (scheme.equals(NbdDriver.NAME)) {
        return legacy(text, rest);
      }
      throw bad(text, "expected " + scheme + "://" + (unix ? "/NAME?socket=PATH" : "HOST[:PORT]/NAME"));
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw bad(text, e.getReason() + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
    }
    Map<String, String> query = query(text, uri.getRawQuery());
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String name = decode(text, path.startsWith("/") ? path.substring(1) : path);
    if (uri.getRawFragment() != null) {
      throw bad(text, "a fragment (#...) has no meaning here");
    }
    String socket = query.remove("socket");
    Endpoint endpoint;
    if (unix) {
      if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()) {
        throw bad(text, "a Unix socket URI has no host (" + scheme + ":///NAME?socket=PATH)");
      }
      if (socket == null || socket.isEmpty()) {
        throw bad(text, "the socket=PATH parameter is missing");
      }
      endpoint = Endpoint.unix(Path.of(socket));
    } else {
      if (socket != null) {
        throw bad(text, "socket= belongs to the " + scheme + "+unix scheme");
      }
      String host = uri.getHost();
      if (host == null || host.isEmpty()) {
        throw bad(text, "the host is missing");
      }
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port = uri.getPort() < 0 ? Nbd.DEFAULT_PORT : uri.getPort();
      if (uri.getUserInfo() != null) {
        throw bad(text, "user names (PSK) are not supported");
      }
      endpoint = Endpoint.tcp(host, port);
    }
    return new NbdUri(text, endpoint, name, tls, Map.copyOf(query));
  }

  /** QEMU's {@code nbd:HOST:PORT[:exportname=NAME]} and {@code nbd:unix:PATH[:exportname=NAME]}. */
  private static NbdUri legacy(String text, String rest) throws InvalidOptionException {
    String name = "";
    String target = rest;
    int e = rest.indexOf(":exportname=");
    if (e >= 0) {
      name = rest.substring(e + ":exportname=".length());
      target = rest.substring(0, e);
    }
    if (target.startsWith("unix:")) {
      String path = target.substring("unix:".length());
      if (path.isEmpty()) {
        throw bad(text, "the socket path is missing (nbd:unix:PATH)");
      }
      return new NbdUri(text, Endpoint.unix(Path.of(path)), name, false, Map.of());
    }
    int colon = target.lastIndexOf(':');
    String host = colon < 0 ? target : target.substring(0, colon);
    int port = Nbd.DEFAULT_PORT;
    if (colon >= 0) {
      try {
        port = Integer.parseInt(target.substring(colon + 1));
      } catch (NumberFormatException x) {
        port = -1;
      }
      if (port < 0 || port > 65535) {
        throw bad(text, "'" + target.substring(colon + 1) + "' is not a port number");
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.isEmpty()) {
      throw bad(text, "the host is missing (nbd://HOST[:PORT]/NAME)");
    }
    return new NbdUri(text, Endpoint.tcp(host, port), name, false, Map.of());
  }

  private static Map<String, String> query(String text, String raw)
      throws InvalidOptionException {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("[&;]")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String key = decode(text, eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(text, pair.substring(eq + 1));
      if (out.put(key, value) != null) {
        throw bad(text, "parameter '" + key + "' is given twice");
      }
    }
    return out;
  }

  private static String decode(String text, String s) throws InvalidOptionException {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw bad(text, "bad percent-encoding in '" + s + "'");
    }
  }

  private static InvalidOptionException bad(String text, String why) {
    return new InvalidOptionException("Invalid NBD URI '" + text + "': " + why);
  }

  /** The URI as given. */
  @Override
  public String toString() {
    return text;
  }
}
