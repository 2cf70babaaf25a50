package io.blockkit.verify.formats;

/** An image for the power-loss and injected-failure suites: a variant and a virtual size. */
public record CrashImage(Variant variant, long size) {
  /**
   * The default crash image of a variant: six clusters less three sectors, so that workloads
   * allocate, free and move a handful of clusters and the last one is partial.
   */
  public static CrashImage of(Variant v) {
    return new CrashImage(v, 6 * v.clusterSize() - 3 * 512);
  }

  @Override
  public String toString() {
    return variant + ", " + size + " bytes"
        + (size % variant.clusterSize() != 0 ? " (last cluster partial)" : "");
  }
}
