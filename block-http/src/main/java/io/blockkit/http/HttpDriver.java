package io.blockkit.http;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.OptionSpec;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Set;

/**
 * The read-only {@code http} protocol: {@code http://host[:port]/path} opens the object there,
 * read with range requests. {@link HttpsDriver} is the same over TLS. See the package
 * documentation for the options, the caching and the errors.
 */
public class HttpDriver implements BlockDriver {
  private final String scheme;

  /** The {@code http} driver (for {@link java.util.ServiceLoader}). */
  public HttpDriver() {
    this("http");
  }

  HttpDriver(String scheme) {
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
    return "Read-only images on an HTTP server (range requests, cached, read ahead)";
  }

  /** None: read-only, so the registry refuses read-write opens with a clear message. */
  @Override
  public Set<DriverFeature> features() {
    return Set.of();
  }

  @Override
  public List<OptionSpec> openOptions() {
    return RemoteOptions.specs();
  }

  /**
   * @param request its location is what follows {@code http:} ({@code //host/dir/disk.vdi})
   * @throws UnsupportedFeatureException when asked to open read-write
   * @throws InvalidOptionException when the location is not a URL of this scheme with a host
   * @throws io.blockkit.api.error.ImageAccessException when the server answers 404 or 403
   * @throws io.blockkit.api.error.BlockException when the server does not honour ranges or cannot
   *     be reached, or its TLS certificate is not trusted
   */
  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    if (!request.readOnly()) {
      throw new UnsupportedFeatureException("Driver '" + scheme
          + "' can only open images read-only");
    }
    String location = scheme + ":" + request.location();
    URI uri = parse(location);
    RemoteOptions options = RemoteOptions.from(request.options());
    return new RemoteDevice(this, location, HttpSource.open(location, uri, options), options);
  }

  private URI parse(String location) throws InvalidOptionException {
    URI uri;
    try {
      uri = new URI(location);
    } catch (URISyntaxException e) {
      throw new InvalidOptionException("'" + location + "' is not a valid URL: " + e.getReason()
          + " at index " + e.getIndex());
    }
    if (uri.getHost() == null || !location.startsWith(scheme + "://")) {
      throw new InvalidOptionException("'" + location + "' is not a valid URL: expected "
          + scheme + "://HOST[:PORT]/PATH");
    }
    if (uri.getRawUserInfo() != null) {
      // The JDK's client would not send them, and a name with a password would end up in
      // messages and process listings.
      throw new InvalidOptionException("'" + scheme + "://" + uri.getHost()
          + "/...' holds a user name or password: blockkit sends no credentials over HTTP (use a"
          + " pre-signed URL, or s3:// for a bucket that needs them)");
    }
    return uri;
  }
}
