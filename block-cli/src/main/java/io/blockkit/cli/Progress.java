package io.blockkit.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Progress of a long command on standard output: qemu-img's {@code (12.34/100%)} bar redrawn in
 * place on a terminal, one line per 10% otherwise, or JSON lines with qemu job fields
 * ({@code current-progress}, {@code total-progress}) for programs.
 */
final class Progress implements LongConsumer {
  enum Mode { NONE, BAR, LINES, JSON }

  private final PrintWriter out;
  private final Mode mode;
  private final long total;
  private long done;
  private long lastStep = -1;

  Progress(PrintWriter out, Mode mode, long total) {
    this.out = out;
    this.mode = mode;
    this.total = total;
  }

  void start() {
    report(true);
  }

  @Override
  public synchronized void accept(long bytes) {
    done += bytes;
    report(false);
  }

  /** Prints the final 100% state. */
  synchronized void finish(boolean ok) {
    if (mode == Mode.NONE) {
      return;
    }
    if (mode == Mode.JSON) {
      out.println(Json.compact(event(ok ? "concluded" : "aborted")));
    } else if (ok) {
      done = total;
      if (lastStep != stepOf(100 * 100)) {
        print();
      }
      if (mode == Mode.BAR) {
        out.println();
      }
    } else if (mode == Mode.BAR) {
      out.println();
    }
    out.flush();
  }

  private long stepOf(long hundredthsOfPercent) {
    return switch (mode) {
      case BAR -> hundredthsOfPercent;
      case LINES -> hundredthsOfPercent / 1000;
      default -> hundredthsOfPercent / 100;
    };
  }

  private void report(boolean force) {
    if (mode == Mode.NONE) {
      return;
    }
    long hundredths = total == 0 ? 10000 : (long) (done * 10000.0 / total);
    long step = stepOf(hundredths);
    if (!force && step == lastStep) {
      return;
    }
    lastStep = step;
    if (mode == Mode.JSON) {
      out.println(Json.compact(event("running")));
    } else {
      print();
    }
    out.flush();
  }

  private void print() {
    double pct = total == 0 ? 100.0 : done * 100.0 / total;
    String text = String.format(Locale.ROOT, "    (%3.2f/100%%)", pct);
    if (mode == Mode.BAR) {
      out.print(text + "\r");
    } else {
      out.println(text);
    }
    lastStep = stepOf(total == 0 ? 10000 : (long) (done * 10000.0 / total));
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
