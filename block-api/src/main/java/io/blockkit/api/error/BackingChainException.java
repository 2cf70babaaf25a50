package io.blockkit.api.error;

import java.util.List;

/**
 * A backing image could not be opened: it is missing, unreadable, of a wrong format, or it would
 * close a loop. The message names the whole chain from the top image down.
 */
public class BackingChainException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final List<String> chain;

  /**
   * @param chain the images from the top down to the one that failed
   * @param problem what went wrong with the last one
   */
  public BackingChainException(List<String> chain, String problem, Throwable cause) {
    super(problem + " (backing chain: " + String.join(" -> ", chain) + ")", cause);
    this.chain = List.copyOf(chain);
  }

  /** The images from the top down to the one that failed. */
  public List<String> chain() {
    return chain;
  }
}
