package io.blockkit.cli;

/** Option descriptions several commands share, word for word. */
final class Texts {
  static final String FORCE_SHARE = "Open even if another process holds the image's lock.";
  static final String QUIET = "Print nothing but errors.";

  private Texts() {}
}
