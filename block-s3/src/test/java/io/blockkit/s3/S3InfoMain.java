package io.blockkit.s3;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;

/**
 * What a child JVM runs for {@link S3EnvironmentTest}: opens the image named on the command line
 * through the registry, as the command-line tool does, and prints its format and size, or the
 * error's one line (exit 1).
 */
public final class S3InfoMain {
  private S3InfoMain() {}

  public static void main(String[] args) {
    try (BlockDevice d = BlockRegistry.load().open(args[0],
        OpenParams.readOnlyDefaults().withWarnings(w -> { }))) {
      System.out.println("format " + d.driver().name() + ", " + d.size() + " bytes");
    } catch (Exception e) {
      System.out.println("error: " + e.getMessage());
      System.exit(1);
    }
  }
}
