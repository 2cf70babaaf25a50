package io.blockkit.api.error;

import java.util.Map;
import java.util.stream.Collectors;

/** No format driver recognised the image; lists every driver probed with its score. */
public class UnknownFormatException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final transient Map<String, Integer> scores;

  public UnknownFormatException(String location, Map<String, Integer> scores) {
    super("Could not determine the image format of '" + location + "': no driver claimed it ("
        + (scores.isEmpty() ? "no format drivers are registered" : scores.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", "))) + ")");
    this.scores = Map.copyOf(scores);
  }

  /** Driver name to probe score (0..100) for every format driver that was asked. */
  public Map<String, Integer> scores() {
    return scores;
  }
}
