package io.blockkit.s3;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.http.RemoteDevice;
import io.blockkit.http.RemoteOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The read-only {@code s3} protocol: {@code s3://BUCKET/KEY} opens an object of AWS S3 or of an
 * S3-compatible store, read with ranged GETs through the AWS SDK for Java v2, cached and read ahead
 * like {@code http}. See the package documentation for where the endpoint, region and credentials
 * come from.
 *
 * <p>This class names no SDK type, so that listing drivers or opening a local image never loads
 * the SDK: it is loaded by the first {@link #open}.
 */
public final class S3Driver implements BlockDriver {
  static final String ENDPOINT = "endpoint";
  static final String REGION = "region";
  static final String PATH_STYLE = "path-style";

  private final Map<String, String> env;

  /** The driver, configured by the process's environment (for {@link java.util.ServiceLoader}). */
  public S3Driver() {
    this(System.getenv());
  }

  /** The driver with {@code env} in place of the process's environment variables (tests). */
  S3Driver(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  @Override
  public String name() {
    return "s3";
  }

  @Override
  public DriverKind kind() {
    return DriverKind.PROTOCOL;
  }

  @Override
  public String description() {
    return "Read-only images in S3 or an S3-compatible store (s3://BUCKET/KEY; AWS_* variables)";
  }

  /** None: read-only, so the registry refuses read-write opens with a clear message. */
  @Override
  public Set<DriverFeature> features() {
    return Set.of();
  }

  @Override
  public List<OptionSpec> openOptions() {
    List<OptionSpec> specs = new ArrayList<>(RemoteOptions.specs());
    specs.add(OptionSpec.string(ENDPOINT, null,
        "Endpoint URL of an S3-compatible store (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)"));
    specs.add(OptionSpec.string(REGION, null,
        "Region (default: AWS_REGION, the profile, else us-east-1)"));
    specs.add(OptionSpec.choice(PATH_STYLE, "auto", "Path-style addressing (auto: when the"
        + " endpoint is an IP address or localhost, or AWS_S3_FORCE_PATH_STYLE=true)",
        "auto", "on", "off"));
    return specs;
  }

  /**
   * @param request its location is what follows {@code s3:} ({@code //bucket/key})
   * @throws UnsupportedFeatureException when asked to open read-write
   * @throws io.blockkit.api.error.InvalidOptionException when the bucket or key is missing
   * @throws io.blockkit.api.error.ImageAccessException when the bucket or the key does not exist,
   *     or access is denied
   * @throws io.blockkit.api.error.BlockException when the credentials are refused or the store
   *     cannot be reached (one line each)
   */
  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    if (!request.readOnly()) {
      throw new UnsupportedFeatureException("Driver 's3' can only open images read-only");
    }
    S3Url url = S3Url.parse(request.location());
    RemoteOptions remote = RemoteOptions.from(request.options());
    S3Settings settings = S3Settings.of(request.options(), env);
    return new RemoteDevice(this, url.toString(), S3Source.open(url, settings, remote), remote);
  }
}
