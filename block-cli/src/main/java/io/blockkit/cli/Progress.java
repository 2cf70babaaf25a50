package io.blockkit.cli;

import io.blockkit.ops.ProgressListener;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Progress of a long command on standard output: qemu-img's {@code (12.34/100%)} bar redrawn in
 * place on a terminal, one line per 10% otherwise, or JSON lines with qemu job fields
 * ({@code current-progress}, {@code total-progress}) for programs. A listener of the library's
 * operations, which call it one at a time.
 */
final class Progress implements ProgressListener {
  enum Mode { NONE, BAR, LINES, JSON }

  private final PrintWriter out;
  private final Mode mode;
  private long total;
  private long done;
  private long lastStep = -1;

  Progress(PrintWriter out, Mode mode) {
    this.out = out;
    this.mode = mode;
  }

  /** -p: a bar on a terminal, lines otherwise; nothing without -p or with -q. */
  static Progress of(Env env, boolean shown) {
    return new Progress(env.out, !shown ? Mode.NONE : env.terminal ? Mode.BAR : Mode.LINES);
  }

  @Override
  public void progress(Status status, long current, long total) {
    if (mode == Mode.NONE) {
      return;
    }
    this.total = total;
    this.done = current;
    switch (status) {
      case RUNNING -> report(lastStep < 0);
      case CONCLUDED -> finish(true);
      case ABORTED -> finish(false);
      default -> throw new IllegalArgumentException(status.toString());
    }
    out.flush();
  }

  /** Prints the final state. */
  private void finish(boolean ok) {
    if (mode == Mode.JSON) {
      out.println(Json.compact(event(ok ? "concluded" : "aborted")));
    } else if (ok) {
      if (lastStep != stepOf(100 * 100)) {
        print();
      }
      if (mode == Mode.BAR) {
        out.println();
      }
    } else if (mode == Mode.BAR) {
      out.println();
    }
  }

  private long stepOf(long hundredthsOfPercent) {
    return switch (mode) {
      case BAR -> hundredthsOfPercent;
      case LINES -> hundredthsOfPercent / 1000;
      default -> hundredthsOfPercent / 100;
    };
  }

  private long hundredths() {
    return total == 0 ? 10000 : (long) (done * 10000.0 / total);
  }

  private void report(boolean force) {
    long step = stepOf(hundredths());
    if (!force && step == lastStep) {
      return;
    }
    lastStep = step;
    if (mode == Mode.JSON) {
      out.println(Json.compact(event("running")));
    } else {
      print();
    }
  }

  private void print() {
    double pct = total == 0 ? 100.0 : done * 100.0 / total;
    String text = String.format(Locale.ROOT, "    (%3.2f/100%%)", pct);
    if (mode == Mode.BAR) {
      out.print(text + "\r");
    } else {
      out.println(text);
    }
    lastStep = stepOf(hundredths());
  }

  private Map<String, Object> event(String status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", status);
    m.put("current-progress", done);
    m.put("total-progress", total);
    m.put("percent", Math.round((total == 0 ? 100.0 : done * 100.0 / total) * 100) / 100.0);
    return m;
  }
}
