package io.blockkit.http;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;

/**
 * What a child JVM runs for {@link TlsTest}: opens the image named on the command line through the
 * registry and prints its format and size, or the error's one line (exit 1).
 */
public final class InfoMain {
  private InfoMain() {}

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
