package io.blockkit.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Runs a one-image command ({@code info}, {@code check}, {@code map}; {@code compare} on pairs)
 * over many items, so that a script over thousands of images starts the tool once. With one item
 * the command runs exactly as before. With several, every item is processed even when some fail
 * (each failure is one error line on standard error) and:
 * <ul>
 *   <li>human output is each item's block in argument order, separated by a blank line; blocks
 *       that do not name their images themselves begin with {@code image: NAME} lines; an item
 *       that prints nothing (it failed, or {@code check -q}) has no block;
 *   <li>JSON output is one array whose element i is what the command prints for image i alone,
 *       or {@code null} when that image failed;
 *   <li>the exit code is the worst of the images' codes, by the command's {@link Severity}.
 * </ul>
 */
final class Batch {
  /** The command's work for one item, printing to its {@code env.out}; returns the exit code. */
  interface PerItem<T> {
    int run(T item) throws Exception;
  }

  /** Orders exit codes from best to worst. */
  interface Severity {
    int rank(int exitCode);
  }

  /** 0 is success, anything else is worse. */
  static final Severity ZERO_IS_BEST = code -> code == 0 ? 0 : 1;

  private Batch() {}

  /** The block header of an image whose output does not name it. */
  static String imageLine(String file) {
    return "image: " + file;
  }

  /**
   * @param header the first line(s) of an item's human block, or null when the command's own
   *     output names the image
   */
  static <T> int run(BaseCommand cmd, List<T> items, boolean json, Function<T, String> header,
      Severity severity, PerItem<T> body) throws Exception {
    if (items.size() == 1) {
      return body.run(items.get(0));
    }
    Env env = cmd.env;
    try {
      return each(cmd, env, items, json, header, severity, body);
    } finally {
      cmd.env = env;
    }
  }

  private static <T> int each(BaseCommand cmd, Env env, List<T> items, boolean json,
      Function<T, String> header, Severity severity, PerItem<T> body) {
    List<String> elements = new ArrayList<>();
    int worst = 0;
    boolean printed = false;
    for (T item : items) {
      StringWriter text = new StringWriter();
      Env one = env.withOut(new PrintWriter(text));
      cmd.env = one; // the command prints to its env.out: each image's output is kept apart
      int code;
      boolean failed = false;
      try {
        code = body.run(item);
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
      if (header != null) {
        env.out.println(header.apply(item));
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
