package io.blockkit.registry;

import java.util.Map;

/**
 * The outcome of probing: every format driver's score and the winner.
 *
 * @param winner the chosen driver's name, or null when every score was 0
 * @param scores driver name to score, in descending score order (ties by name)
 * @param recognised when no installed driver scored above raw's last resort: a format from
 *     {@link KnownFormats} that the bytes carry and no installed driver takes over, else null
 */
public record ProbeResult(String winner, Map<String, Integer> scores,
    KnownFormats.Signature recognised) {
  public ProbeResult {
    scores = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(scores));
  }
}
