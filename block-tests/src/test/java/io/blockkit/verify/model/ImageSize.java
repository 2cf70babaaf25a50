package io.blockkit.verify.model;

/**
 * The size of a model-based run's image, stored as an abstract choice and resolved against the
 * variant's cluster size, so that one sample applies to every variant: one of {@value #EDGES}
 * edges (tiny sizes, the cluster size and its neighbours, a few clusters and a bit) or, with edge
 * -1, any size up to four clusters.
 */
record ImageSize(int edge, long raw) {
  static final int EDGES = 10;

  long resolve(long clusterSize) {
    long b = clusterSize;
    return switch (edge) {
      case 0 -> 1;
      case 1 -> 511;
      case 2 -> 512;
      case 3 -> b - 512;
      case 4 -> b - 1;
      case 5 -> b;
      case 6 -> b + 1;
      case 7 -> b + 512;
      case 8 -> 2 * b + 4096;
      case 9 -> 3 * b + 7;
      default -> 1 + Math.floorMod(raw, 4 * b);
    };
  }

  @Override
  public String toString() {
    return edge >= 0 ? "edge#" + edge : "size#" + raw;
  }
}
