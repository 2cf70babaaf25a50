package io.blockkit.vpc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Metadata units (BAT sectors, sector bitmaps) changed in memory but not yet written, each with
 * the generation of its last change: a flush writes a snapshot of them and marks a unit clean only
 * if nothing changed it since the snapshot, so a change made during a flush waits for the next.
 */
final class DirtySet {
  private final Map<Integer, Long> changed = new ConcurrentHashMap<>();
  private final AtomicLong generations = new AtomicLong();

  void mark(int unit) {
    changed.put(unit, generations.incrementAndGet());
  }

  boolean contains(int unit) {
    return changed.containsKey(unit);
  }

  boolean isEmpty() {
    return changed.isEmpty();
  }

  /** The units changed now, with their generations. */
  Map<Integer, Long> snapshot() {
    return Map.copyOf(changed);
  }

  /** Marks {@code unit} written unless it changed after generation {@code generation}. */
  void written(int unit, long generation) {
    changed.remove(unit, generation);
  }
}
