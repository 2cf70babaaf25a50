package io.blockkit.verify.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.verify.Images;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import io.blockkit.verify.formats.Variant;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;

/**
 * Model-based random testing of every model variant of every format under test: random sequences
 * of write / writeZeroes / discard / read / flush / close-and-reopen run against an image and an
 * in-memory byte model; every read, the final image, block status, {@code check} and the format's
 * integrity checks must agree with the model. Each sample (an image size and a sequence, both
 * resolved against a variant's cluster size) runs on every variant, so each gets the tries of a
 * property of its own: {@code jqwik.tries.default}, raised by {@code -Pstress}. jqwik shrinks a
 * failure to a minimal sequence; the failure names the variant. Offsets cluster at block
 * boundaries and the last bytes, sizes at the cluster size's edges.
 */
class ModelBasedTest {
  /** A variant of a format. */
  record Target(FormatUnderTest format, Variant variant) {
    @Override
    public String toString() {
      return variant.toString();
    }
  }

  /** Every model variant of every format under test. */
  static List<Target> targets() {
    List<Target> out = new ArrayList<>();
    for (FormatUnderTest f : Formats.all()) {
      for (Variant v : f.modelVariants()) {
        out.add(new Target(f, v));
      }
    }
    return out;
  }

  /** Runs {@code ops} on a fresh image of {@code target}; fails with the sequence and the step. */
  static void run(Target target, long requestedSize, List<Op> ops) throws IOException {
    String format = target.format().name();
    String location = Images.memoryName("model-" + format);
    target.variant().create(location, requestedSize);
    BlockDevice d = Images.open(location, format, false);
    long size = d.size();
    assertTrue(size >= requestedSize, "size " + size + " < requested " + requestedSize);
    ByteModel model = new ByteModel(Math.toIntExact(size));
    long bs = target.variant().clusterSize();
    int step = 0;
    try {
      for (Op op : ops) {
        step++;
        if (op instanceof Op.Write w) {
          long off = w.pos().resolve(size, bs);
          int len = (int) w.len().resolve(off, size, bs);
          byte[] data = Images.pattern(w.seed(), len);
          Images.write(d, off, data);
          model.write(off, data);
        } else if (op instanceof Op.WriteZeroes z) {
          long off = z.pos().resolve(size, bs);
          long len = z.len().resolve(off, size, bs);
          d.writeZeroes(off, len);
          model.zero(off, len);
        } else if (op instanceof Op.Discard x) {
          long off = x.pos().resolve(size, bs);
          long len = x.len().resolve(off, size, bs);
          d.discard(off, len);
          model.discard(off, len);
        } else if (op instanceof Op.Read r) {
          long off = r.pos().resolve(size, bs);
          int len = (int) r.len().resolve(off, size, bs);
          String bad = model.explainMismatch(off, Images.read(d, off, len));
          if (bad != null) {
            fail("step " + step + " " + op + " read " + len + " bytes at " + off + ": " + bad);
          }
        } else if (op instanceof Op.Flush) {
          d.flush();
        } else if (op instanceof Op.Reopen) {
          d.close();
          d = Images.open(location, format, false);
          assertEquals(size, d.size(), "size after reopen");
        }
      }
      d.close();
      d = Images.open(location, format, true);
      verify(target, d, model, "after " + ops.size() + " steps and a read-only reopen");
    } catch (IOException | RuntimeException e) {
      throw new AssertionError("step " + step + " of " + ops + " on " + target
          + " of " + size + " bytes: " + e, e);
    } finally {
      d.close();
      Images.delete(location);
    }
  }

  /** The whole image, its block status, its check and its integrity agree with the model. */
  static void verify(Target target, BlockDevice d, ByteModel model, String when)
      throws IOException {
    byte[] all = Images.readAll(d);
    String bad = model.explainMismatch(0, all);
    if (bad != null) {
      fail(when + ": " + bad);
    }
    long pos = 0;
    while (pos < all.length) {
      Extent e = d.blockStatus(pos, all.length - pos);
      assertEquals(pos, e.offset(), when + ": extent offset");
      assertTrue(e.length() >= 1 && e.end() <= all.length, when + ": extent " + e);
      if (e.zero()) {
        for (long i = e.offset(); i < e.end(); i++) {
          if (all[(int) i] != 0) {
            fail(when + ": block status says " + e.offset() + "+" + e.length()
                + " reads as zeros but byte " + i + " is " + all[(int) i]);
          }
        }
      }
      pos = e.end();
    }
    if (d.capabilities().contains(Capability.CHECK)) {
      CheckReport r = d.check(CheckMode.REPORT);
      assertTrue(r.isClean(), when + ": check found " + r);
    }
    target.format().assertIntegrity(d, target.variant(), target + ", " + when);
  }

  // ---------------------------------------------------------------- generators

  @Provide
  static Arbitrary<List<Op>> ops() {
    Arbitrary<Op.Pos> pos = Combinators.combine(
        Arbitraries.frequency(net.jqwik.api.Tuple.of(4, 0), net.jqwik.api.Tuple.of(4, 1),
            net.jqwik.api.Tuple.of(2, 2)),
        Arbitraries.longs().between(0, 1 << 20), Arbitraries.integers().between(-2, 2))
        .as(Op.Pos::new);
    Arbitrary<Op.Len> len = Combinators.combine(
        Arbitraries.frequency(net.jqwik.api.Tuple.of(2, 0), net.jqwik.api.Tuple.of(5, 1),
            net.jqwik.api.Tuple.of(3, 2)),
        Arbitraries.integers().between(0, Integer.MAX_VALUE)).as(Op.Len::new);
    Arbitrary<Op> op = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(10, Combinators.combine(pos, len, Arbitraries.longs())
            .as(Op.Write::new)),
        net.jqwik.api.Tuple.of(3, Combinators.combine(pos, len).as(Op.WriteZeroes::new)),
        net.jqwik.api.Tuple.of(2, Combinators.combine(pos, len).as(Op.Discard::new)),
        net.jqwik.api.Tuple.of(6, Combinators.combine(pos, len).as(Op.Read::new)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(new Op.Flush())),
        net.jqwik.api.Tuple.of(2, Arbitraries.just(new Op.Reopen())));
    return op.list().ofMinSize(1).ofMaxSize(40);
  }

  @Provide
  static Arbitrary<ImageSize> sizes() {
    return Arbitraries.oneOf(Arbitraries.integers().between(0, ImageSize.EDGES - 1)
        .map(e -> new ImageSize(e, 0)), Arbitraries.longs().map(r -> new ImageSize(-1, r)));
  }

  // ---------------------------------------------------------------- properties

  @Property(shrinking = ShrinkingMode.FULL)
  void everyVariantOverMemory(@ForAll("sizes") ImageSize size, @ForAll("ops") List<Op> ops)
      throws IOException {
    for (Target t : targets()) {
      run(t, size.resolve(t.variant().clusterSize()), ops);
    }
  }

  /** A fixed sequence exercising every edge on every variant, so a plain run always covers them. */
  @Example
  void edgesExample() throws IOException {
    List<Op> ops = new ArrayList<>();
    for (int delta = -2; delta <= 2; delta++) {
      ops.add(new Op.Write(new Op.Pos(1, 1, delta), new Op.Len(0, 0), delta + 10));
    }
    ops.add(new Op.Write(new Op.Pos(2, 0, 0), new Op.Len(0, 0), 99));
    ops.add(new Op.Reopen());
    ops.add(new Op.Read(new Op.Pos(1, 1, -2), new Op.Len(1, 4)));
    for (Target t : targets()) {
      run(t, 3 * t.variant().clusterSize() + 7, ops);
    }
  }
}
