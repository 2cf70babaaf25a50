package io.blockkit.api.error;

import java.util.Collection;
import java.util.List;

/** A driver was named that is not registered; lists the names that are. */
public class NoSuchDriverException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final String requested;
  private final List<String> available;

  public NoSuchDriverException(String requested, Collection<String> available) {
    super("Unknown driver '" + requested + "' (available: " + String.join(", ", available) + ")");
    this.requested = requested;
    this.available = List.copyOf(available);
  }

  public String requested() {
    return requested;
  }

  public List<String> available() {
    return available;
  }
}
