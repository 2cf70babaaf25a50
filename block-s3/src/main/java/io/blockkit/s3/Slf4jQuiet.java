package io.blockkit.s3;

import java.util.ServiceLoader;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * Keeps SLF4J, through which the SDK logs, from printing "No SLF4J providers were found" and two
 * more lines on stderr when the program has no logging provider (the command-line tool has none,
 * and its errors are one line). A program with a provider is left alone, and so is one that set
 * {@code slf4j.internal.verbosity} itself.
 */
final class Slf4jQuiet {
  private static final String VERBOSITY = "slf4j.internal.verbosity";

  private Slf4jQuiet() {}

  /** Called before the SDK's first use. */
  static synchronized void ifNoProvider() {
    if (System.getProperty(VERBOSITY) != null) {
      return;
    }
    boolean provider = ServiceLoader.load(SLF4JServiceProvider.class,
        Slf4jQuiet.class.getClassLoader()).stream().findAny().isPresent();
    if (!provider) {
      System.setProperty(VERBOSITY, "ERROR");
    }
  }
}
