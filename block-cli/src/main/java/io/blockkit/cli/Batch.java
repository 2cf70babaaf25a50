package io.blockkit.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a one-image command ({@code info}, {@code check}, {@code map}) over many images, so that a
 * script over thousands of images starts the tool once. With one image the command runs exactly
 * as before. With several, every image is processed even when some fail (each failure is one
 * error line on standard error) and:
 * <ul>
 *   <li>human output is each image's block in argument order, separated by a blank line; blocks
 *       that do not name their image themselves begin with {@code image: NAME}; an image that
 *       prints nothing (it failed, or {@code check -q}) has no block;
 *   <li>JSON output is one array whose element i is what the command prints for image i alone,
 *       or {@code null} when that image failed;
 *   <li>the exit code is the worst of the images' codes, by the command's {@link Severity}.
 * </ul>
 */
final class Batch {
  /** The command's work for one image, printing to its {@code env.out}; returns the exit code. */
  interface PerImage {
    int run(String file) throws Exception;
  }

  /** Orders exit codes from best to worst. */
  interface Severity {
    int rank(int exitCode);
  }

  /** 0 is success, anything else is worse. */
  static final Severity ZERO_IS_BEST = code -> code == 0 ? 0 : 1;

  private Batch() {}

  /**
   * @param nameBlocks whether human blocks need an {@code image: NAME} line (the command's own
   *     output does not name the image)
   */
  static int run(BaseCommand cmd, List<String> files, boolean json, boolean nameBlocks,
      Severity severity, PerImage body) throws Exception {
    if (files.size() == 1) {
      return body.run(files.get(0));
    }
    Env env = cmd.env;
    try {
      return each(cmd, env, files, json, nameBlocks, severity, body);
    } finally {
      cmd.env = env;
    }
  }

  private static int each(BaseCommand cmd, Env env, List<String> files, boolean json,
      boolean nameBlocks, Severity severity, PerImage body) {
    List<String> elements = new ArrayList<>();
    int worst = 0;
    boolean printed = false;
    for (String file : files) {
      StringWriter text = new StringWriter();
      Env one = env.withOut(new PrintWriter(text));
      cmd.env = one; // the command prints to its env.out: each image's output is kept apart
      int code;
      boolean failed = false;
      try {
        code = body.run(file);
      } catch (Exception | Error e) {
        code = Main.fail(one, e);
        failed = true;
      }
      one.out.flush();
      if (severity.rank(code) > severity.rank(worst)) {
        worst = code;
      }
      if (json) {
        String t = text.toString().strip();
        elements.add(failed || t.isEmpty() ? "null" : t.replace("\n", "\n    "));
        continue;
      }
      if (text.getBuffer().length() == 0) {
        continue; // failed, or quiet: no block, not even its name
      }
      if (printed) {
        env.out.println();
      }
      printed = true;
      if (nameBlocks) {
        env.out.println("image: " + file);
      }
      env.out.print(text);
      env.out.flush();
    }
    if (json) {
      env.out.println("[\n    " + String.join(",\n    ", elements) + "\n]");
    }
    env.out.flush();
    return worst;
  }
}
