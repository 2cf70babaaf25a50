package io.blockkit.registry;

import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How {@link BlockRegistry#open} opens an image.
 *
 * @param format the format driver to use, or null to probe
 * @param options extra options in qemu's flat form: the format's own keys, and {@code file.*}
 *     keys for the node below ({@code file.driver}, {@code file.filename}, the child's options,
 *     {@code file.file.*} for a further level)
 * @param readOnly open every node read-only
 * @param forceShare skip the inter-process lock (read-only only), like {@code qemu-img -U}
 * @param warnings receives warnings such as raw-probing's; one line each
 * @param writableBacking open backing images read-write too (commit writes into them); by default
 *     they are read-only whatever the top image is
 */
public record OpenParams(String format, Map<String, String> options, boolean readOnly,
    boolean forceShare, Consumer<String> warnings, boolean writableBacking) {

  public OpenParams {
    options = Map.copyOf(options);
    Objects.requireNonNull(warnings, "warnings");
  }

  /** Probe the format, read-write, no options, warnings to standard error. */
  public static OpenParams defaults() {
    return new OpenParams(null, Map.of(), false, false, w -> System.err.println(w), false);
  }

  public static OpenParams readOnlyDefaults() {
    return defaults().withReadOnly(true);
  }

  public OpenParams withFormat(String f) {
    return new OpenParams(f, options, readOnly, forceShare, warnings, writableBacking);
  }

  public OpenParams withOptions(Map<String, String> o) {
    return new OpenParams(format, o, readOnly, forceShare, warnings, writableBacking);
  }

  public OpenParams withReadOnly(boolean ro) {
    return new OpenParams(format, options, ro, forceShare, warnings, writableBacking);
  }

  public OpenParams withForceShare(boolean fs) {
    return new OpenParams(format, options, readOnly, fs, warnings, writableBacking);
  }

  public OpenParams withWarnings(Consumer<String> w) {
    return new OpenParams(format, options, readOnly, forceShare, w, writableBacking);
  }

  public OpenParams withWritableBacking(boolean wb) {
    return new OpenParams(format, options, readOnly, forceShare, warnings, wb);
  }
}
