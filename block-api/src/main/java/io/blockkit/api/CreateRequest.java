package io.blockkit.api;

import io.blockkit.api.options.Options;
import java.util.Objects;

/**
 * Everything a driver needs to create an image.
 *
 * @param location where the image goes, for protocol drivers and messages
 * @param child for format drivers, the empty protocol node to format, opened read-write; the
 *     caller keeps ownership and closes it. Null for protocol drivers.
 * @param options the driver's create options, checked against {@link BlockDriver#createOptions()}
 * @param related opens the backing image named in the options (to read its size or identity);
 *     {@link RelatedImages#NONE} outside a registry
 */
public record CreateRequest(String location, BlockDevice child, Options options,
    RelatedImages related) {
  public CreateRequest {
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(related, "related");
  }

  /** A request outside a registry: no backing image can be opened. */
  public CreateRequest(String location, BlockDevice child, Options options) {
    this(location, child, options, RelatedImages.NONE);
  }
}
