package io.blockkit.cli;

import io.blockkit.api.SnapshotInfo;
import io.blockkit.api.options.Sizes;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An image's internal snapshots as qemu-img shows them: the "Snapshot list" table of {@code
 * snapshot -l} and {@code info}, and the {@code snapshots} objects of {@code info --output=json}.
 */
final class Snapshots {
  /** qemu prints the date in the local time zone, as strftime's {@code %Y-%m-%d %H:%M:%S}. */
  private static final DateTimeFormatter DATE =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", Locale.ROOT);

  private Snapshots() {}

  /** The table with its "Snapshot list:" title; nothing at all for an empty list, as qemu. */
  static void printTable(PrintWriter o, List<SnapshotInfo> snapshots) {
    if (snapshots.isEmpty()) {
      return;
    }
    o.println("Snapshot list:");
    o.println(String.format(Locale.ROOT, "%-10s%-17s%8s%20s%13s%11s",
        "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT"));
    for (SnapshotInfo s : snapshots) {
      long secs = s.vmClockNanos() / 1_000_000_000L;
      String clock = String.format(Locale.ROOT, "%02d:%02d:%02d.%03d", secs / 3600,
          (secs / 60) % 60, secs % 60, (s.vmClockNanos() / 1_000_000) % 1000);
      String date = DATE.format(s.date().atZone(ZoneId.systemDefault()));
      o.println(String.format(Locale.ROOT, "%-9s %-16s %8s%20s%13s%11s", s.id(), s.name(),
          Sizes.toHuman(s.vmStateSize()), date, clock,
          s.icount() == -1 ? "" : Long.toString(s.icount())));
    }
  }

  /** qemu's SnapshotInfo object, keys in the order qemu-img prints them. */
  static Map<String, Object> toJson(SnapshotInfo s) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (s.icount() != -1) {
      m.put("icount", s.icount());
    }
    m.put("vm-clock-nsec", s.vmClockNanos() % 1_000_000_000L);
    m.put("name", s.name());
    m.put("date-sec", s.date().getEpochSecond());
    m.put("date-nsec", s.date().getNano());
    m.put("vm-clock-sec", s.vmClockNanos() / 1_000_000_000L);
    m.put("id", s.id());
    m.put("vm-state-size", s.vmStateSize());
    return m;
  }

  static List<Map<String, Object>> toJson(List<SnapshotInfo> snapshots) {
    return snapshots.stream().map(Snapshots::toJson).toList();
  }
}
