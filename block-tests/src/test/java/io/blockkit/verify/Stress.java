package io.blockkit.verify;

/** Iteration counts: small for {@code mvn verify}, larger under {@code -Pstress}. */
public final class Stress {
  private Stress() {}

  /** True under {@code -Pstress} ({@code -Dblockkit.stress=true}). */
  public static boolean on() {
    return Boolean.getBoolean("blockkit.stress");
  }

  public static int iterations(int normal, int stress) {
    return on() ? stress : normal;
  }

  /** The seed for a randomised suite: {@code -Dblockkit.seed=N} or a fresh one, to print on failure. */
  public static long seed() {
    Long fixed = Long.getLong("blockkit.seed");
    return fixed != null ? fixed : new java.util.Random().nextLong();
  }
}
