package io.blockkit.file;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;

/**
 * The blockkit tool with its first file open stopped in the lock gap ({@link OpenFiles#lockGap}):
 * it prints {@link #IN_THE_GAP} on stderr and waits for a line on stdin. In this package only to
 * reach the package-private hook; see io.blockkit.cli.LockRaceCliTest.
 */
public final class PausingMain {
  public static final String IN_THE_GAP = "blockkit-test: in the lock gap";

  private PausingMain() {}

  public static void main(String[] args) {
    PrintStream err = System.err;
    InputStream in = System.in;
    boolean[] paused = {false};
    OpenFiles.lockGap = () -> {
      if (paused[0]) {
        return;
      }
      paused[0] = true;
      err.println(IN_THE_GAP);
      err.flush();
      try {
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
          // until the line ends
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
    io.blockkit.cli.Main.main(args);
  }
}
