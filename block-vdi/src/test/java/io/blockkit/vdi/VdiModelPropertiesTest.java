package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random sequences of write, writeZeroes, discard, read and close/reopen against a byte-array
 * model of the virtual disk. After every sequence the image checks clean and reads as the model.
 */
class VdiModelPropertiesTest {
  private static final int BS = 512 << 10;
  /** Seven blocks, the last one partial, and an odd number of sectors. */
  private static final long SIZE = 6L * BS + 3 * 512;

  sealed interface Op permits Write, Zero, Discard, Read, Reopen {}

  record Write(long offset, int length, int seed) implements Op {}

  record Zero(long offset, int length) implements Op {}

  record Discard(long offset, int length) implements Op {}

  record Read(long offset, int length) implements Op {}

  record Reopen() implements Op {}

  private static Arbitrary<Long> offsets() {
    Arbitrary<Long> aligned = Arbitraries.integers().between(0, 6).map(b -> (long) b * BS);
    Arbitrary<Long> nearBoundary = Combinators.combine(Arbitraries.integers().between(1, 6),
        Arbitraries.integers().between(-700, 700)).as((b, d) -> Math.max(0, (long) b * BS + d));
    Arbitrary<Long> anywhere = Arbitraries.longs().between(0, SIZE - 1);
    return Arbitraries.oneOf(aligned, nearBoundary, anywhere);
  }

  private static Arbitrary<Integer> lengths() {
    return Arbitraries.oneOf(Arbitraries.integers().between(1, 4096),
        Arbitraries.integers().between(1, 2 * BS + 1000), Arbitraries.of(BS, 2 * BS));
  }

  @Provide
  Arbitrary<List<Op>> programs() {
    Arbitrary<Op> write = Combinators.combine(offsets(), lengths(), Arbitraries.integers()
        .between(1, 1000)).as(Write::new);
    Arbitrary<Op> zero = Combinators.combine(offsets(), lengths()).as(Zero::new);
    Arbitrary<Op> discard = Combinators.combine(offsets(), lengths()).as(Discard::new);
    Arbitrary<Op> read = Combinators.combine(offsets(), lengths()).as(Read::new);
    Arbitrary<Op> reopen = Arbitraries.just(new Reopen());
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(5, write), net.jqwik.api.Tuple.of(2, zero),
        net.jqwik.api.Tuple.of(2, discard), net.jqwik.api.Tuple.of(2, read),
        net.jqwik.api.Tuple.of(1, reopen)).list().ofMinSize(1).ofMaxSize(14);
  }

  @Property(tries = 120)
  void imageBehavesLikeAByteArray(@ForAll("programs") List<Op> program,
      @ForAll boolean tinyMapCache) throws Exception {
    // Half the runs keep one 4-entry page of the map in memory, so pages are dropped and re-read.
    VdiDriver driver = tinyMapCache ? TestSupport.TINY_MAP_CACHE : TestSupport.DRIVER;
    byte[] model = new byte[(int) SIZE];
    MemDevice file = TestSupport.create(Map.of("size", Long.toString(SIZE), "block_size",
        "512K"));
    VdiImage img = TestSupport.open(driver, file, false);
    try {
      for (Op op : program) {
        if (op instanceof Write w) {
          int n = (int) Math.min(w.length(), SIZE - w.offset());
          byte[] data = new byte[n];
          for (int i = 0; i < n; i++) {
            // Sometimes all zeros, to exercise the no-allocation path.
            data[i] = w.seed() % 5 == 0 ? 0 : (byte) (w.seed() + i * 13);
          }
          TestSupport.write(img, w.offset(), data);
          System.arraycopy(data, 0, model, (int) w.offset(), n);
        } else if (op instanceof Zero z) {
          int n = (int) Math.min(z.length(), SIZE - z.offset());
          img.writeZeroes(z.offset(), n);
          Arrays.fill(model, (int) z.offset(), (int) z.offset() + n, (byte) 0);
        } else if (op instanceof Discard d) {
          int n = (int) Math.min(d.length(), SIZE - d.offset());
          img.discard(d.offset(), n);
          // This driver's discard always leaves zeros (whole blocks ZERO, partial ranges zeroed).
          Arrays.fill(model, (int) d.offset(), (int) d.offset() + n, (byte) 0);
        } else if (op instanceof Read r) {
          int n = (int) Math.min(r.length(), SIZE - r.offset());
          assertArrayEquals(Arrays.copyOfRange(model, (int) r.offset(), (int) r.offset() + n),
              TestSupport.read(img, r.offset(), n), "read " + r);
        } else {
          img.close();
          file = new MemDevice(file.bytes());
          img = TestSupport.open(driver, file, false);
        }
      }
      assertArrayEquals(model, TestSupport.read(img, 0, (int) SIZE));
      assertExtentsAgree(img, model);
      CheckReport r = img.check(CheckMode.REPORT);
      assertTrue(r.isClean(), r.messages().toString());
    } finally {
      img.close();
    }
    try (VdiImage again = TestSupport.open(driver, new MemDevice(file.bytes()), true)) {
      assertArrayEquals(model, TestSupport.read(again, 0, (int) SIZE));
      assertTrue(again.check(CheckMode.REPORT).isClean());
    }
  }

  private static void assertExtentsAgree(VdiImage img, byte[] model) throws Exception {
    for (long off = 0; off < SIZE; ) {
      Extent x = img.blockStatus(off, SIZE - off);
      if (x.zero() && !x.data()) {
        for (long i = x.offset(); i < x.end(); i++) {
          if (model[(int) i] != 0) {
            throw new AssertionError("extent " + x + " says zero but byte " + i + " is not");
          }
        }
      }
      off = x.end();
    }
  }
}
