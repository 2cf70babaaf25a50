package io.blockkit.verify.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.api.ProbeInput;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every registered FORMAT driver, built-in or plugin, answers near misses with "not mine" (0, or
 * raw's 1) and never with partial credit: empty input, 1 byte, 511 bytes, random data, and its own
 * header with one byte changed or cut short.
 */
class ProbeNearMissTest {
  private static final Random RANDOM = new Random(0x5eed);

  static Stream<BlockDriver> formats() throws Exception {
    return BlockRegistry.load().drivers().stream().filter(d -> d.kind() == DriverKind.FORMAT);
  }

  private static int noScore(BlockDriver d) {
    return d.name().equals(BlockRegistry.RAW) ? BlockDriver.PROBE_LAST_RESORT : 0;
  }

  private static int probe(BlockDriver d, byte[] head, long length) {
    return d.probe(new ProbeInput(ByteBuffer.wrap(head), length, "image"));
  }

  @Test
  void theRegistryHasSeveralFormats() throws Exception {
    List<String> names = formats().map(BlockDriver::name).toList();
    assertTrue(names.containsAll(List.of("raw", ToyFormatDriver.NAME)), names.toString());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("formats")
  void shortAndRandomInputsAreNotClaimed(BlockDriver d) {
    int none = noScore(d);
    assertEquals(none, probe(d, new byte[0], 0), "empty");
    assertEquals(none, probe(d, new byte[1], 1), "1 zero byte");
    assertEquals(none, probe(d, new byte[511], 511), "511 zero bytes");
    assertEquals(none, probe(d, new byte[4096], 1 << 20), "zeros");
    for (int i = 0; i < 200; i++) {
      byte[] junk = new byte[1 + RANDOM.nextInt(BlockDriver.PROBE_SIZE)];
      RANDOM.nextBytes(junk);
      assertEquals(none, probe(d, junk, junk.length + RANDOM.nextInt(1 << 20)),
          () -> "random bytes " + Arrays.toString(Arrays.copyOf(junk, 16)));
    }
  }

  private static byte[] headOf(BlockDevice dev) throws Exception {
    ByteBuffer b = ByteBuffer.allocate((int) Math.min(dev.size(), BlockDriver.PROBE_SIZE));
    dev.read(0, b);
    return b.array();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("formats")
  void ownHeaderOneByteOffIsAllOrNothing(BlockDriver d) throws Exception {
    if (d.createOptions().stream().noneMatch(o -> o.name().equals("size"))) {
      return;
    }
    BlockRegistry r = BlockRegistry.load();
    String name = "memory:probe-" + d.name() + "-" + UUID.randomUUID();
    r.create(name, d.name(), Map.of("size", "2M"));
    byte[] head;
    long length;
    try (BlockDevice dev = r.open(name, OpenParams.readOnlyDefaults().withFormat("memory"))) {
      head = headOf(dev);
      length = dev.size();
    }
    int full = probe(d, head, length);
    int none = noScore(d);
    if (d.name().equals(BlockRegistry.RAW)) {
      assertEquals(BlockDriver.PROBE_LAST_RESORT, full);
      return;
    }
    assertEquals(BlockDriver.PROBE_EXACT, full, "a fresh " + d.name() + " image");
    List<Integer> magicBytes = new ArrayList<>();
    for (int i = 0; i < Math.min(head.length, 512); i++) {
      byte[] bent = head.clone();
      bent[i] ^= 0x01;
      int s = probe(d, bent, length);
      int pos = i;
      assertTrue(s == full || s == none,
          () -> d.name() + " scored " + s + " with byte " + pos + " off by one");
      if (s == none) {
        magicBytes.add(i);
      }
    }
    assertFalse(magicBytes.isEmpty(), d.name() + " ignores its header when probing");
    int lastMagic = magicBytes.get(magicBytes.size() - 1);
    byte[] cut = Arrays.copyOf(head, lastMagic);
    assertEquals(none, probe(d, cut, cut.length), "header cut before its last magic byte");
  }

  @Test
  void toyMagicOneByteOffIsRejected() {
    ToyFormatDriver toy = new ToyFormatDriver();
    byte[] head = Arrays.copyOf(ToyFormatDriver.MAGIC, 512);
    assertEquals(BlockDriver.PROBE_EXACT, probe(toy, head, 512));
    for (int i = 0; i < ToyFormatDriver.MAGIC.length; i++) {
      byte[] bent = head.clone();
      bent[i]++;
      assertEquals(0, probe(toy, bent, 512), "byte " + i);
    }
  }
}
