package io.blockkit.nbd;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import io.blockkit.nbd.protocol.Nbd;
import io.blockkit.nbd.protocol.Tls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;

/**
 * The {@code nbd} protocol driver: an export of an NBD server opened as an image, named by a
 * URI. Each URI scheme is a driver of its own so that {@code scheme:rest} names it the way
 * {@code file:} and {@code memory:} do: {@code nbd} (TCP), {@code nbds} (TCP with TLS), {@code
 * nbd+unix} and {@code nbds+unix} (a Unix socket), all this class with a different scheme. See
 * the package documentation.
 */
public class NbdDriver implements BlockDriver {
  /** The plain TCP scheme's driver name. */
  public static final String NAME = "nbd";

  static final String TIMEOUT = "timeout";
  static final String TLS_CERTIFICATES = "tls-certificates";
  static final String TLS_VERIFY_PEER = "tls-verify-peer";
  static final String TLS_HOSTNAME = "tls-hostname";
  private static final int DEFAULT_TIMEOUT_SECONDS = 60;

  private static final List<OptionSpec> OPEN_OPTIONS = List.of(
      OptionSpec.integer(TIMEOUT, Integer.toString(DEFAULT_TIMEOUT_SECONDS),
          "Seconds to wait for the connection, the handshake and each reply"),
      OptionSpec.string(TLS_CERTIFICATES, "", "nbds: folder with ca-cert.pem (else the JDK's "
          + "trusted authorities) and, for servers that ask, client-cert.pem and client-key.pem"),
      OptionSpec.bool(TLS_VERIFY_PEER, true,
          "nbds: check the server's certificate (off: encrypt without authenticating)"),
      OptionSpec.string(TLS_HOSTNAME, "",
          "nbds: the name the server's certificate must carry (default: the URI's host)"));

  private final String scheme;

  public NbdDriver() {
    this(NAME);
  }

  NbdDriver(String scheme) {
    this.scheme = scheme;
  }

  @Override
  public String name() {
    return scheme;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.PROTOCOL;
  }

  @Override
  public String description() {
    String where = scheme.endsWith("+unix") ? "a Unix socket" : "TCP";
    return "NBD client: an export of an NBD server over " + where
        + (scheme.startsWith("nbds") ? " with TLS" : "") + " (" + scheme
        + (scheme.endsWith("+unix") ? ":///NAME?socket=PATH)" : "://HOST[:PORT]/NAME)");
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.WRITE);
  }

  @Override
  public List<OptionSpec> openOptions() {
    return OPEN_OPTIONS;
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    NbdUri uri = NbdUri.parse(scheme, request.location());
    Options o = withQuery(request.options(), uri);
    long timeout = o.integer(TIMEOUT);
    if (timeout < 1 || timeout > 86_400) {
      throw new InvalidOptionException("NBD option timeout=" + timeout
          + " must be between 1 and 86400 seconds");
    }
    SSLContext tls = uri.tls() ? tlsContext(o) : null;
    String tlsHost = null;
    if (uri.tls() && o.bool(TLS_VERIFY_PEER)) {
      tlsHost = !o.string(TLS_HOSTNAME).isEmpty() ? o.string(TLS_HOSTNAME)
          : uri.endpoint().isUnix() ? null : uri.endpoint().host();
    }
    NbdConnection conn = NbdConnection.open(uri, (int) timeout * 1000, tls, tlsHost);
    if (!request.readOnly() && conn.offer.has(Nbd.FLAG_READ_ONLY)) {
      conn.close();
      throw new BlockException("NBD server " + uri + " exports '" + uri.exportName()
          + "' read-only; it cannot be opened for writing");
    }
    return new NbdDevice(this, uri.text(), request.readOnly(), conn);
  }

  /** The URI's query parameters as options, unless the option was given explicitly. */
  private Options withQuery(Options options, NbdUri uri) throws InvalidOptionException {
    Options o = options;
    for (Map.Entry<String, String> q : uri.query().entrySet()) {
      String key = q.getKey();
      if (OPEN_OPTIONS.stream().noneMatch(s -> s.name().equals(key))) {
        throw new InvalidOptionException("Invalid NBD URI '" + uri.text() + "': unknown "
            + "parameter '" + key + "' (known: socket, timeout, tls-certificates, "
            + "tls-verify-peer, tls-hostname)");
      }
      if (!o.isSet(key)) {
        String v = q.getValue();
        o = o.with(key, key.equals(TLS_VERIFY_PEER) && v.matches("[01]")
            ? (v.equals("1") ? "on" : "off") : v);
      }
    }
    if (!uri.tls()) {
      for (String k : List.of(TLS_CERTIFICATES, TLS_HOSTNAME, TLS_VERIFY_PEER)) {
        if (o.isSet(k)) {
          throw new InvalidOptionException("NBD option " + k + " needs TLS: use nbds:// or "
              + "nbds+unix:// (" + uri + ")");
        }
      }
    }
    return o;
  }

  private static SSLContext tlsContext(Options o) throws IOException {
    String dir = o.string(TLS_CERTIFICATES);
    Path ca = null;
    Path cert = null;
    Path key = null;
    if (!dir.isEmpty()) {
      Path d = Path.of(dir);
      if (!Files.isDirectory(d)) {
        throw new InvalidOptionException("NBD option tls-certificates=" + dir
            + " is not a folder");
      }
      ca = Files.exists(d.resolve("ca-cert.pem")) ? d.resolve("ca-cert.pem") : null;
      if (Files.exists(d.resolve("client-cert.pem"))) {
        cert = d.resolve("client-cert.pem");
        key = d.resolve("client-key.pem");
      }
    }
    return Tls.clientContext(ca, cert, key, o.bool(TLS_VERIFY_PEER));
  }

  /** {@code nbds}: TCP with TLS. */
  public static final class Nbds extends NbdDriver {
    public Nbds() {
      super("nbds");
    }
  }

  /** {@code nbd+unix}: a Unix socket. */
  public static final class NbdUnix extends NbdDriver {
    public NbdUnix() {
      super("nbd+unix");
    }
  }

  /** {@code nbds+unix}: a Unix socket with TLS. */
  public static final class NbdsUnix extends NbdDriver {
    public NbdsUnix() {
      super("nbds+unix");
    }
  }
}
