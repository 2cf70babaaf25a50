package io.blockkit.verify.fuzz;

import static io.blockkit.verify.fuzz.FuzzContract.attempt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.DriverKind;
import io.blockkit.api.Extent;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.BlockException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.ProbeResult;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import io.blockkit.verify.fuzz.FuzzContract.Outcome;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fuzzes the registry's probing with arbitrary bytes across every registered format (built-in and
 * the test plugin), then opens the bytes as qemu-img would, without naming a format, and uses
 * whatever opened.
 *
 * <p>Asserts, besides {@link FuzzContract}: every format's probe is a pure function of its input
 * that never throws and scores 0..100 (the registry would hide a throwing probe as 0); the
 * registry's scores and winner follow from them (highest score, ties by name); the probing open
 * picks that winner, or fails with a documented error; and the opened image's block status tiles
 * it and its reads and check keep to the contract.
 */
class ProbeFuzzTest {
  private static final int MAX_EXTENTS = 1 << 16;
  private static final int MAX_READ = 64 << 10;

  @FuzzTest(maxDuration = "10m")
  void probeAndOpen(byte[] input) {
    FuzzContract.run(input, (32L << 20) + 1024L * input.length, () -> exercise(input));
  }

  private static void exercise(byte[] input) throws IOException {
    BlockRegistry registry = Images.registry();
    byte[] head = Arrays.copyOf(input, Math.min(input.length, BlockDriver.PROBE_SIZE));
    Map<String, Integer> expected = new LinkedHashMap<>();
    String winner = null;
    for (BlockDriver d : registry.drivers()) {
      if (d.kind() != DriverKind.FORMAT) {
        continue;
      }
      int score = d.probe(probeInput(head, input.length));
      assertTrue(score >= 0 && score <= 100, d.name() + " scored " + score);
      assertEquals(score, d.probe(probeInput(head, input.length)), d.name() + " is not pure");
      expected.put(d.name(), score);
      // Drivers come sorted by name, so the first best score wins ties by name.
      if (score > 0 && (winner == null || score > expected.get(winner))) {
        winner = d.name();
      }
    }
    ProbeResult r = registry.probe(probeInput(head, input.length));
    assertEquals(expected, new LinkedHashMap<>(r.scores()), "registry scores");
    assertEquals(winner, r.winner(), "registry winner");

    String location = MemoryFiles.put("fuzz-probe", input);
    try {
      Outcome<BlockDevice> opened = attempt(() -> registry.open(location,
          Images.quiet(null).withReadOnly(true)));
      if (!opened.ok()) {
        assertInstanceOf(BlockException.class, opened.failure(), "probing open's error");
        return;
      }
      try (BlockDevice d = opened.value()) {
        String format = input.length == 0 ? BlockRegistry.RAW : winner;
        assertEquals(format, d.driver().name(), "the probing open's format");
        use(d);
      }
    } finally {
      MemoryFiles.delete(location);
    }
  }

  private static int countZeros(byte[] bytes) {
    int n = 0;
    for (byte b : bytes) {
      n += b == 0 ? 1 : 0;
    }
    return n;
  }

  private static ProbeInput probeInput(byte[] head, long length) {
    return new ProbeInput(ByteBuffer.wrap(head), length, "fuzz.img");
  }

  /** Info, a bounded block-status walk, a few reads, and check where the format has one. */
  private static void use(BlockDevice d) throws IOException {
    long size = d.size();
    assertEquals(size, d.info().virtualSize(), "info's virtual size");
    long pos = 0;
    int extents = 0;
    while (pos < size && extents++ < MAX_EXTENTS) {
      Extent e = d.blockStatus(pos, size - pos);
      assertEquals(pos, e.offset(), "block status offset");
      assertTrue(e.end() <= size, () -> "extent " + e + " past the end " + size);
      if (e.zero() && !e.data()) {
        int n = (int) Math.min(e.length(), MAX_READ);
        Outcome<byte[]> zeros = ImageFuzz.read(d, e.offset(), n);
        assertTrue(zeros.ok(), () -> "reading ZERO run " + e + " failed: " + zeros.failure());
        assertEquals(n, countZeros(zeros.value()), () -> "ZERO run " + e + " holds data");
      }
      pos = e.end();
    }
    for (long at : new long[] {0, size / 2, Math.max(0, size - MAX_READ)}) {
      if (at < size) {
        ImageFuzz.read(d, at, (int) Math.min(MAX_READ, size - at));
      }
    }
    if (d.capabilities().contains(Capability.CHECK)) {
      d.check(CheckMode.REPORT);
    }
  }
}
