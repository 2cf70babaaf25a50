package io.blockkit.cli;

import picocli.CommandLine.Option;

/** A command that opens one image named on its command line: {@code -f} and {@code --image-opts}. */
abstract class ImageCommand extends BaseCommand {
  @Option(names = {"-f", "--format"}, paramLabel = "FMT", description = "Image format (probed if absent).")
  String format;

  @Option(names = "--image-opts", description = "FILE is an option string describing the stack "
      + "(driver=...,file.driver=...,file.filename=...).")
  boolean imageOpts;
}
