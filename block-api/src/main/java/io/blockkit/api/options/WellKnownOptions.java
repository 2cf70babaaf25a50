package io.blockkit.api.options;

/**
 * Open options with one meaning across drivers, so that operations such as convert can ask for a
 * behaviour without naming a format: a driver that lists one of these keys (as a {@link
 * OptionType#BOOL}) in {@link io.blockkit.api.BlockDriver#openOptions} promises the meaning below;
 * a driver that does not list it does not offer the behaviour.
 */
public final class WellKnownOptions {
  /**
   * {@code compress=on}: whole-cluster (or whole-grain) writes are stored compressed, as
   * {@code qemu-img convert -c} asks. Partial writes may be stored plainly. Writes of distinct
   * ranges from several threads compress in parallel.
   */
  public static final String COMPRESS = "compress";

  /**
   * {@code cache.no-flush=on}: the image skips the flushes that only order its metadata against
   * a crash. Meant for an image whose crash would be discarded anyway (a target convert has just
   * created under a staging name); {@link io.blockkit.api.BlockDevice#flush} still makes
   * everything durable.
   */
  public static final String NO_FLUSH = "cache.no-flush";

  private WellKnownOptions() {}

  /** Whether {@code specs} offer the boolean option {@code name}. */
  public static boolean offers(java.util.List<OptionSpec> specs, String name) {
    return specs.stream().anyMatch(s -> s.name().equals(name) && s.type() == OptionType.BOOL);
  }
}
