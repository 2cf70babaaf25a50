package io.blockkit.file;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageLockedException;
import io.blockkit.api.options.Options;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The other process of {@link LockRaceTest}: runs the file driver on commands read from stdin,
 * one answer line each, so the test decides exactly when each step of an open happens.
 *
 * <pre>
 * pause on|off        stop in the lock gap of the next opens: print "gap", wait for a line
 * rw|ro|create PATH   open read-write, open read-only or create; print won, locked or error: ...
 * close               close what the last open kept; print closed
 * </pre>
 */
public final class LockRaceChild {
  private LockRaceChild() {}

  public static void main(String[] args) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    FileDriver driver = new FileDriver();
    BlockDevice held = null;
    String line;
    while ((line = in.readLine()) != null) {
      String[] w = line.split(" ", 2);
      switch (w[0]) {
        case "pause" -> {
          OpenFiles.lockGap = w[1].equals("on") ? () -> {
            System.out.println("gap");
            System.out.flush();
            try {
              in.readLine();
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          } : null;
          answer("ok");
        }
        case "rw", "ro", "create" -> {
          try {
            if (w[0].equals("create")) {
              driver.create(new CreateRequest(w[1], null,
                  Options.parse("size=64k", driver.createOptions())));
            } else {
              held = driver.open(OpenRequest.of(w[1], null, w[0].equals("ro")));
            }
            answer("won");
          } catch (ImageLockedException e) {
            answer("locked");
          } catch (IOException | RuntimeException e) {
            answer("error: " + e);
          }
        }
        case "close" -> {
          if (held != null) {
            held.close();
            held = null;
          }
          answer("closed");
        }
        default -> answer("error: unknown command " + line);
      }
    }
  }

  private static void answer(String s) {
    System.out.println(s);
    System.out.flush();
  }
}
