package io.blockkit.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.vhdx.LogEntry.Descriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The in-memory replay of a read-only open against a byte model: any sequence of zero ranges and
 * 4 KiB data updates (rebuilt from data sectors with their leading and trailing bytes) laid over
 * a file reads, at any offset and length, as the updates applied one after the other.
 */
class OverlayTest {
  private static final int PAGE = 4096;
  private static final int WINDOW = 16 * PAGE;
  private static final int LOG = 64 * PAGE;
  private static final AtomicInteger NAMES = new AtomicInteger();

  /** One update: data (seeded) or zeros, at a page of the window, {@code pages} long. */
  record Op(boolean zero, int page, int pages, long seed) {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> op = Combinators.combine(Arbitraries.of(true, false),
        Arbitraries.integers().between(0, WINDOW / PAGE - 1), Arbitraries.integers().between(1, 5),
        Arbitraries.longs()).as(Op::new);
    return op.list().ofMaxSize(12);
  }

  @Property(tries = 200)
  void readsAsTheUpdatesAppliedInOrder(@ForAll("ops") List<Op> ops,
      @ForAll long readSeed) throws IOException {
    byte[] file = new byte[LOG + ops.size() * PAGE];
    new Random(readSeed).nextBytes(file); // stale bytes under the window and in the log
    byte[] model = Arrays.copyOf(file, WINDOW);
    Descriptor[] descriptors = new Descriptor[ops.size()];
    for (int i = 0; i < ops.size(); i++) {
      Op op = ops.get(i);
      int at = op.page() * PAGE;
      if (op.zero()) {
        int len = Math.min(op.pages() * PAGE, WINDOW - at);
        descriptors[i] = new Descriptor(true, at, len, -1, 0, 0);
        Arrays.fill(model, at, at + len, (byte) 0);
      } else {
        byte[] page = TestImages.random(op.seed(), PAGE);
        int sector = LOG + i * PAGE;
        System.arraycopy(page, 8, file, sector + 8, PAGE - 12);
        ByteBuffer p = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        descriptors[i] = new Descriptor(false, at, PAGE, i * PAGE, p.getLong(0),
            p.getInt(PAGE - 4));
        System.arraycopy(page, 0, model, at, PAGE);
      }
    }
    String name = "overlay-" + NAMES.incrementAndGet();
    TestImages.putMemory(name, file);
    try (BlockDevice child = TestImages.registry().driver("memory")
        .open(OpenRequest.of(name, null, true))) {
      ImageFile raw = ImageFile.of(child);
      Overlay overlay = new Overlay(raw, LOG);
      for (Descriptor d : descriptors) {
        overlay.add(d);
      }
      ImageFile view = new ImageFile(child, overlay, file.length, file.length);
      assertArrayEquals(model, view.read(0, WINDOW).array(), "the whole window");
      Random r = new Random(readSeed);
      for (int i = 0; i < 20; i++) {
        int off = r.nextInt(WINDOW);
        int len = 1 + r.nextInt(WINDOW - off);
        assertArrayEquals(Arrays.copyOfRange(model, off, off + len), view.read(off, len).array(),
            "a read of " + len + " bytes at " + off);
      }
    } finally {
      TestImages.registry().driver("memory").delete(name);
    }
  }
}
