package io.blockkit.ops;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.util.Objects;

/**
 * Checks an image's metadata and optionally repairs it: {@code qemu-img check [-r]}.
 *
 * <pre>{@code
 * CheckResult r = Check.of(image).mode(CheckMode.REPAIR_ALL).run();
 * if (r.last().corruptions() != 0) ...
 * }</pre>
 *
 * <p>A repair that fixed something is followed by a second, read-only check, as qemu-img does
 * ("Double checking the fixed image now..."); the result holds both reports.
 */
public final class Check {
  private final BlockDevice image;
  private CheckMode mode = CheckMode.REPORT;

  private Check(BlockDevice image) {
    this.image = Objects.requireNonNull(image, "image");
  }

  /** A check of the open image (read-write to repair). */
  public static Check of(BlockDevice image) {
    return new Check(image);
  }

  /** Report only (default), or repair leaks or everything. */
  public Check mode(CheckMode mode) {
    this.mode = Objects.requireNonNull(mode, "mode");
    return this;
  }

  /**
   * Checks (and repairs).
   *
   * @throws io.blockkit.api.error.UnsupportedFeatureException when the format cannot check, or
   *     cannot repair
   * @throws IOException when the check itself fails
   */
  public CheckResult run() throws IOException {
    CheckReport first = image.check(mode);
    if (first.leaksFixed() == 0 && first.corruptionsFixed() == 0) {
      return new CheckResult(first, null);
    }
    return new CheckResult(first, image.check(CheckMode.REPORT));
  }
}
