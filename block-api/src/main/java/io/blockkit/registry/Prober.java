package io.blockkit.registry;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.api.ProbeInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Format probing over a set of drivers: scores, the winner, and known formats without a driver. */
final class Prober {
  private final Map<String, BlockDriver> drivers;

  Prober(Map<String, BlockDriver> drivers) {
    this.drivers = drivers;
  }

  ProbeResult probe(ProbeInput input) {
    Map<String, Integer> scores = new LinkedHashMap<>();
    for (BlockDriver d : drivers.values()) {
      if (d.kind() == DriverKind.FORMAT) {
        int s;
        try {
          s = Math.max(0, Math.min(100, d.probe(input)));
        } catch (RuntimeException e) {
          s = 0;
        }
        scores.put(d.name(), s);
      }
    }
    List<Map.Entry<String, Integer>> sorted = new ArrayList<>(scores.entrySet());
    sorted.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
        .thenComparing(Map.Entry.comparingByKey()));
    Map<String, Integer> ordered = new LinkedHashMap<>();
    sorted.forEach(e -> ordered.put(e.getKey(), e.getValue()));
    String winner = sorted.isEmpty() || sorted.get(0).getValue() == 0 ? null
        : sorted.get(0).getKey();
    KnownFormats.Signature recognised = null;
    if (sorted.isEmpty() || sorted.get(0).getValue() <= BlockDriver.PROBE_LAST_RESORT) {
      recognised = KnownFormats.recognise(input, scores.keySet()).orElse(null);
    }
    return new ProbeResult(winner, ordered, recognised);
  }

  /**
   * The guard handed to a probed raw image: the non-raw format that would claim {@code input}, if
   * any (an installed driver above the last-resort score, or a known format without a driver).
   */
  Optional<String> claimNonRaw(ProbeInput input) {
    ProbeResult r = probe(input);
    if (r.recognised() != null) {
      return Optional.of(r.recognised().name());
    }
    return r.scores().entrySet().stream()
        .filter(e -> !e.getKey().equals(BlockRegistry.RAW)
            && e.getValue() > BlockDriver.PROBE_LAST_RESORT)
        .map(Map.Entry::getKey).findFirst();
  }

  /** Reads the probe bytes of an open node: its head and, when the head is not all of it, its tail. */
  static ProbeInput input(BlockDevice dev, String fileName) throws IOException {
    long len = dev.size();
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(len, BlockDriver.PROBE_SIZE));
    dev.read(0, head);
    head.flip();
    String name = fileName == null ? "" : fileName;
    if (len <= head.limit()) {
      return new ProbeInput(head, len, name);
    }
    ByteBuffer tail = ByteBuffer.allocate((int) Math.min(len, BlockDriver.PROBE_TAIL_SIZE));
    dev.read(len - tail.limit(), tail);
    tail.flip();
    return new ProbeInput(head, tail, len, name);
  }
}
