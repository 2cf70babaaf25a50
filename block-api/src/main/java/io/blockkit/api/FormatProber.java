package io.blockkit.api;

import java.util.Optional;

/**
 * Asks the registered format drivers (other than raw) whether some bytes would probe as theirs.
 * Handed to a raw image whose format was guessed by probing, so it can refuse writes to the first
 * sector that would make the image look like another format next time (CVE-2008-2004).
 */
@FunctionalInterface
public interface FormatProber {
  /** The name of a non-raw format that claims these bytes, if any. */
  Optional<String> claim(ProbeInput input);
}
