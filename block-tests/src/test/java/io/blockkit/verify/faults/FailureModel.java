package io.blockkit.verify.faults;

import java.nio.ByteBuffer;
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
  private List<Set<ByteBuffer>> durable = new ArrayList<>();
  private final List<Step> since = new ArrayList<>();

  FailureModel(Workload w) {
    this.w = w;
    this.visible = new byte[Math.toIntExact(w.size)];
    for (int b = 0; b < w.blocks(); b++) {
      Set<ByteBuffer> s = new HashSet<>();
      s.add(FaultHarness.key(new byte[w.blockLength(b)]));
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
      byte[] actual = w.block(deviceReads, b);
      byte[] old = w.block(visible, b);
      byte[] now = w.block(next, b);
      if (!java.util.Arrays.equals(actual, old) && !java.util.Arrays.equals(actual, now)) {
        return "block " + b + " reads neither its old contents ("
            + FaultHarness.describe(actual, old) + ") nor its new ones ("
            + FaultHarness.describe(actual, now) + ")";
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

  /** The contents block {@code b} may have on the storage now. */
  Set<ByteBuffer> possible(int b) {
    return fold(true).get(b);
  }

  /** Oracle for the reopened storage. */
  FaultHarness.BlockOracle storageOracle() {
    List<Set<ByteBuffer>> sets = fold(true);
    return (block, actual) -> sets.get(block).contains(FaultHarness.key(actual)) ? null
        : "holds none of its " + sets.get(block).size() + " possible contents (acknowledged "
            + "and flushed data lost, or data no request wrote)";
  }

  private List<Set<ByteBuffer>> fold(boolean everythingMaybe) {
    List<Set<ByteBuffer>> out = new ArrayList<>();
    for (int b = 0; b < w.blocks(); b++) {
      Set<ByteBuffer> s = durable.get(b);
      long base = w.blockStart(b);
      int len = w.blockLength(b);
      for (Step step : since) {
        if (!step.op().touches(base, len)) {
          continue;
        }
        Set<ByteBuffer> next = new HashSet<>();
        for (ByteBuffer c : s) {
          byte[] copy = c.array().clone();
          step.op().applyTo(base, copy);
          next.add(FaultHarness.key(copy));
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
