package io.blockkit.ops;

import io.blockkit.api.CheckReport;

/**
 * What a {@link Check} found.
 *
 * @param first the report of the check (with a repair: of the image after repair, with what was
 *     fixed)
 * @param recheck the second check after a repair that fixed something, or null
 */
public record CheckResult(CheckReport first, CheckReport recheck) {
  /** The image's state at the end: the recheck when there is one. */
  public CheckReport last() {
    return recheck != null ? recheck : first;
  }
}
