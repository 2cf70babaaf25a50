package io.blockkit.api;

import io.blockkit.api.options.Options;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Everything a driver needs to open a node.
 *
 * @param location for protocol drivers, what they open (a path for {@code file}, a name for {@code
 *     memory}); for others, the location of the bottom of the stack, for messages
 * @param child the node below, for format and filter drivers; null for protocol drivers. The
 *     opened device owns it and closes it on close.
 * @param options the driver's open options, checked against {@link BlockDriver#openOptions()}
 * @param readOnly open without any write access; nothing may be written, not even a header
 * @param forceShare skip the lock that keeps other processes out (read-only opens only, like
 *     qemu-img's {@code -U})
 * @param probedBy non-null when the format was guessed by probing rather than named; raw uses it
 *     to restrict writes to the first sector
 * @param warnings where to report non-fatal problems, one line each
 * @param related opens the backing image and other files this image names; {@link
 *     RelatedImages#NONE} outside a registry
 */
public record OpenRequest(String location, BlockDevice child, Options options, boolean readOnly,
    boolean forceShare, FormatProber probedBy, Consumer<String> warnings, RelatedImages related) {

  public OpenRequest {
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(warnings, "warnings");
    Objects.requireNonNull(related, "related");
  }

  /** A request outside a registry: no backing files or related images can be opened. */
  public OpenRequest(String location, BlockDevice child, Options options, boolean readOnly,
      boolean forceShare, FormatProber probedBy, Consumer<String> warnings) {
    this(location, child, options, readOnly, forceShare, probedBy, warnings, RelatedImages.NONE);
  }

  /** A plain request with no options, for tests and simple embedding. */
  public static OpenRequest of(String location, BlockDevice child, boolean readOnly) {
    return new OpenRequest(location, child, Options.empty(), readOnly, false, null, w -> { });
  }

  /**
   * A plain request for {@code driver}, with its open options' defaults applied, so that {@code
   * options().get(...)} answers for every option the driver declares.
   *
   * @throws io.blockkit.api.error.InvalidOptionException when a default of the driver's options is invalid (a driver bug)
   */
  public static OpenRequest forDriver(BlockDriver driver, String location, BlockDevice child,
      boolean readOnly) throws io.blockkit.api.error.InvalidOptionException {
    return new OpenRequest(location, child, Options.of(Map.of(), driver.openOptions()), readOnly,
        false, null, w -> { });
  }

  /** The same request over another child. */
  public OpenRequest withChild(BlockDevice newChild) {
    return new OpenRequest(location, newChild, options, readOnly, forceShare, probedBy, warnings,
        related);
  }
}
