package io.blockkit.verify.faults;

import io.blockkit.verify.faults.FaultHarness.Contents;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a workload with injected failures may leave, block by block.
 *
 * <p>The open device's view is exact: a request that succeeded has its effect, and after one that
 * failed every block reads either its old or its new contents ({@link #failed} checks this and
 * adopts what the device reads).
 *
 * <p>The storage is less certain. At the last successful flush every request acknowledged
 * before it is durable, while a failed request may or may not have left its effect; after that
 * flush, nothing is promised yet. So each block has a set of possible contents: {@link #flushed}
 * folds the requests since the previous flush into the durable sets (acknowledged ones for sure,
 * failed ones maybe), and {@link #possible} folds the unflushed tail with every request a maybe.
 */
final class FailureModel {
  private record Step(Workload.Op op, boolean acknowledged) {}

  private final Workload w;
  private byte[] visible;
  private List<Set<Contents>> durable = new ArrayList<>();
  private final List<Step> since = new ArrayList<>();

  FailureModel(Workload w) {
    this.w = w;
    this.visible = new byte[Math.toIntExact(w.size)];
    Contents zeros = Contents.of(new byte[(int) w.blockSize]);
    for (int b = 0; b < w.blocks(); b++) {
      Set<Contents> s = new HashSet<>();
      // Fold never changes a set element in place, so the blocks can share one array.
      s.add(w.blockLength(b) == w.blockSize ? zeros : Contents.of(new byte[w.blockLength(b)]));
      durable.add(s);
    }
  }

  byte[] visible() {
    return visible;
  }

  void succeeded(Workload.Op op) {
    op.applyTo(0, visible);
    since.add(new Step(op, true));
  }

  /**
   * Records a failed request given what the device reads afterwards; null when every block
   * holds its old or new contents, else which block does not.
   */
  String failed(Workload.Op op, byte[] deviceReads) {
    byte[] next = visible.clone();
    op.applyTo(0, next);
    for (int b = 0; b < w.blocks(); b++) {
      if (!w.sameBlock(deviceReads, visible, b) && !w.sameBlock(deviceReads, next, b)) {
        return "block " + b + " reads neither its old contents ("
            + w.describeBlock(deviceReads, visible, b) + ") nor its new ones ("
            + w.describeBlock(deviceReads, next, b) + ")";
      }
    }
    visible = deviceReads.clone();
    since.add(new Step(op, false));
    return null;
  }

  /** A flush succeeded: what was acknowledged before it is durable now. */
  void flushed() {
    durable = fold(false);
    since.clear();
  }

  /** Oracle for the reopened storage. */
  FaultHarness.BlockOracle storageOracle() {
    List<Set<Contents>> sets = fold(true);
    return (block, image) -> {
      Set<Contents> allowed = sets.get(block);
      for (Contents c : allowed) {
        if (w.blockEquals(image, block, c.bytes())) {
          return null;
        }
      }
      StringBuilder why = new StringBuilder("holds none of its " + allowed.size()
          + " possible contents (acknowledged and flushed data lost, or data no request wrote):");
      allowed.stream().limit(4).forEach(c -> why.append(' ')
          .append(w.describeBlock(image, block, c.bytes())).append(';'));
      return why.toString();
    };
  }

  private List<Set<Contents>> fold(boolean everythingMaybe) {
    List<Set<Contents>> out = new ArrayList<>();
    for (int b = 0; b < w.blocks(); b++) {
      Set<Contents> s = durable.get(b);
      long base = w.blockStart(b);
      int len = w.blockLength(b);
      for (Step step : since) {
        if (!step.op().touches(base, len)) {
          continue;
        }
        Set<Contents> next = new HashSet<>();
        for (Contents c : s) {
          byte[] copy = c.bytes().clone();
          step.op().applyTo(base, copy);
          next.add(Contents.of(copy));
        }
        if (everythingMaybe || !step.acknowledged()) {
          next.addAll(s);
        }
        s = next;
      }
      out.add(s);
    }
    return out;
  }
}
