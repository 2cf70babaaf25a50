package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import io.blockkit.memory.MemoryDriver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Differential tests of the protocol drivers against a byte-array model: random sequences of
 * writes (also past the end), write-zeroes, discards, truncates and reads, checking contents,
 * size and block status after every step. Runs memory, file, and file without native calls.
 */
class ProtocolModelPropertiesTest {
  private static final int MAX_SIZE = 600_000;

  /** The expected image: bytes and size. */
  static final class Model {
    byte[] bytes = new byte[0];

    void ensure(long end) {
      if (end > bytes.length) {
        bytes = Arrays.copyOf(bytes, (int) end);
      }
    }
  }

  sealed interface Op permits Write, Zero, Discard, Truncate {
    void apply(BlockDevice d, Model m) throws IOException;
  }

  record Write(int offset, int length, byte fill) implements Op {
    @Override
    public void apply(BlockDevice d, Model m) throws IOException {
      byte[] data = new byte[length];
      for (int i = 0; i < length; i++) {
        data[i] = (byte) (fill + i * 7);
      }
      d.write(offset, ByteBuffer.wrap(data));
      m.ensure((long) offset + length);
      System.arraycopy(data, 0, m.bytes, offset, length);
    }
  }

  record Zero(int offset, int length) implements Op {
    @Override
    public void apply(BlockDevice d, Model m) throws IOException {
      d.writeZeroes(offset, length);
      m.ensure((long) offset + length);
      Arrays.fill(m.bytes, offset, offset + length, (byte) 0);
    }
  }

  record Discard(int offset, int length) implements Op {
    @Override
    public void apply(BlockDevice d, Model m) throws IOException {
      int len = Math.min(length, m.bytes.length - offset);
      if (offset >= m.bytes.length || len <= 0) {
        return;
      }
      d.discard(offset, len);
      byte[] after = new byte[len];
      d.read(offset, ByteBuffer.wrap(after));
      for (int i = 0; i < len; i++) {
        if (after[i] != 0 && after[i] != m.bytes[offset + i]) {
          fail("discarded byte " + (offset + i) + " is neither zero nor its old value");
        }
      }
      System.arraycopy(after, 0, m.bytes, offset, len);
    }
  }

  record Truncate(int size) implements Op {
    @Override
    public void apply(BlockDevice d, Model m) throws IOException {
      d.truncate(size);
      byte[] next = new byte[size];
      System.arraycopy(m.bytes, 0, next, 0, Math.min(size, m.bytes.length));
      m.bytes = next;
    }
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Integer> offset = Arbitraries.integers().between(0, MAX_SIZE - 140_000)
        .edgeCases(c -> c.add(0).add(65535).add(65536).add(4095));
    Arbitrary<Integer> length = Arbitraries.integers().between(1, 140_000)
        .edgeCases(c -> c.add(1).add(65536).add(4096));
    Arbitrary<Op> write = Combinators.combine(offset, length, Arbitraries.bytes())
        .as(Write::new);
    Arbitrary<Op> zero = Combinators.combine(offset, length).as(Zero::new);
    Arbitrary<Op> discard = Combinators.combine(offset, length).as(Discard::new);
    Arbitrary<Op> truncate = Arbitraries.integers().between(0, MAX_SIZE).map(Truncate::new);
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(6, write), net.jqwik.api.Tuple.of(2, zero),
        net.jqwik.api.Tuple.of(2, discard), net.jqwik.api.Tuple.of(1, truncate))
        .list().ofMinSize(1).ofMaxSize(25);
  }

  @Property(tries = 60)
  void memoryMatchesModel(@ForAll("ops") List<Op> ops) throws IOException {
    MemoryDriver driver = new MemoryDriver();
    String name = "model-" + UUID.randomUUID();
    driver.create(new CreateRequest(name, null, Options.empty()));
    try (BlockDevice d = driver.open(OpenRequest.of(name, null, false))) {
      runAgainstModel(d, ops);
    } finally {
      driver.delete(name);
    }
  }

  @Property(tries = 40)
  void fileMatchesModel(@ForAll("ops") List<Op> ops) throws IOException {
    runOnFile(new FileDriver(), ops);
  }

  @Property(tries = 25)
  void portableFileMatchesModel(@ForAll("ops") List<Op> ops) throws IOException {
    runOnFile(new FileDriver(false), ops);
  }

  private static void runOnFile(BlockDriver driver, List<Op> ops) throws IOException {
    Path file = Files.createTempFile("blockkit-model", ".img");
    try {
      driver.create(new CreateRequest(file.toString(), null, Options.empty()));
      try (BlockDevice d = driver.open(OpenRequest.of(file.toString(), null, false))) {
        runAgainstModel(d, ops);
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static void runAgainstModel(BlockDevice d, List<Op> ops) throws IOException {
    Model m = new Model();
    for (int i = 0; i < ops.size(); i++) {
      ops.get(i).apply(d, m);
      String step = "after step " + i + " " + ops.get(i);
      assertEquals(m.bytes.length, d.size(), "size " + step);
      byte[] actual = new byte[m.bytes.length];
      d.read(0, ByteBuffer.wrap(actual));
      if (!Arrays.equals(m.bytes, actual)) {
        fail("content differs at byte " + Arrays.mismatch(m.bytes, actual) + " " + step);
      }
      checkBlockStatus(d, actual, step);
    }
  }

  private static void checkBlockStatus(BlockDevice d, byte[] content, String step)
      throws IOException {
    long pos = 0;
    while (pos < content.length) {
      Extent e = d.blockStatus(pos, content.length - pos);
      assertEquals(pos, e.offset(), step);
      assertTrue(e.end() <= content.length, step);
      if (e.zero()) {
        for (long i = e.offset(); i < e.end(); i++) {
          if (content[(int) i] != 0) {
            fail("extent " + e.offset() + "+" + e.length() + " is ZERO but byte " + i
                + " is not, " + step);
          }
        }
      }
      pos = e.end();
    }
  }
}
