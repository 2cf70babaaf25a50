package io.blockkit.ops;

import java.io.IOException;
import java.util.List;

/**
 * What a {@link Convert} did.
 *
 * @param bytes the virtual size copied
 * @param salvaged source ranges that could not be read and were written as zeros ({@link
 *     Convert#salvage}), sorted and merged; empty otherwise
 */
public record ConvertResult(long bytes, List<Salvaged> salvaged) {
  public ConvertResult {
    salvaged = List.copyOf(salvaged);
  }

  /**
   * A source range that could not be read and became zeros in the target.
   *
   * @param cause why the first read of it failed
   */
  public record Salvaged(long offset, long length, IOException cause) {}
}
