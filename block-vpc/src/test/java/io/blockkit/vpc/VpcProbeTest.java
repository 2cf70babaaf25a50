package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.ProbeInput;
import io.blockkit.registry.KnownFormats;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Probing: a fixed VHD is recognised by its footer exactly when the registry's known-format table
 * recognises it (so installing the driver changes nothing but who reads it), a raw disk that
 * merely ends with "conectix" stays raw, and {@code vhd} is another name for the driver.
 */
class VpcProbeTest {
  private final VpcDriver driver = new VpcDriver();

  @TempDir
  Path dir;

  private static ProbeInput input(byte[] image) {
    ByteBuffer head = ByteBuffer.wrap(image, 0, Math.min(image.length, BlockDriver.PROBE_SIZE));
    int tail = Math.min(image.length, BlockDriver.PROBE_TAIL_SIZE);
    return new ProbeInput(head.slice(), ByteBuffer.wrap(image, image.length - tail, tail).slice(),
        image.length, "disk");
  }

  private static boolean tableSaysVhd(byte[] image) {
    return KnownFormats.recognise(input(image), Set.of())
        .map(s -> s.name().equals(VpcDriver.NAME)).orElse(false);
  }

  /** Single-byte changes anywhere in a fixed VHD's footer, and other lengths, never split the two. */
  @Test
  void theProbeAgreesWithTheKnownFormatTableOnEveryNearMiss() {
    byte[] data = new byte[64 << 10];
    byte[] fixed = HandVhd.fixed(data, "win ", UUID.randomUUID(), 0x2c000000L);
    assertEquals(BlockDriver.PROBE_EXACT, driver.probe(input(fixed)));
    assertEquals(true, tableSaysVhd(fixed));
    for (int i = 0; i < 512; i++) {
      byte[] bent = fixed.clone();
      bent[fixed.length - 512 + i] ^= (byte) (1 << (i % 8));
      // The checksum covers every byte: any change makes it a raw disk for both.
      assertEquals(0, driver.probe(input(bent)), "byte " + i + " of the footer changed");
      assertEquals(false, tableSaysVhd(bent), "the table, byte " + i);
    }
    for (int delta : new int[] {-512, -1, 1, 511, 512, 4096}) {
      byte[] moved = Arrays.copyOf(fixed, fixed.length + delta);
      if (delta > 0) {
        System.arraycopy(fixed, fixed.length - 512, moved, moved.length - 512, 512);
      }
      assertEquals(0, driver.probe(input(moved)), "footer with " + delta + " bytes of data more");
      assertEquals(false, tableSaysVhd(moved), "table, " + delta);
    }
  }

  @Test
  void rawDisksThatMerelyEndWithTheCookieStayRaw() throws Exception {
    byte[] disk = new byte[1 << 20];
    System.arraycopy("conectix".getBytes(), 0, disk, disk.length - 512, 8);
    assertEquals(0, driver.probe(input(disk)));
    Path p = Files.write(dir.resolve("raw.img"), disk);
    try (BlockDevice d = Vhds.open(p.toString(), true)) {
      assertEquals("raw", d.driver().name());
    }
  }

  /** A cut copy of a footer is no image: a whole sector must be there, as the probe reads it. */
  @Test
  void aDynamicImageNeedsAWholeSectorStartingWithTheCookie() {
    byte[] image = HandVhd.dynamic(64 << 10, 4096).build();
    assertEquals(BlockDriver.PROBE_EXACT, driver.probe(input(image)));
    assertEquals(0, driver.probe(new ProbeInput(ByteBuffer.wrap(image, 0, 511).slice(), 511,
        "cut")));
    image[3] = 'X';
    assertEquals(0, driver.probe(input(image)));
  }

  @Test
  void vhdIsAnotherNameForTheDriver() throws Exception {
    assertSame(Vhds.registry().driver("vpc"), Vhds.registry().driver("vhd"));
    String p = dir.resolve("alias.vhd").toString();
    Vhds.registry().create(p, "vhd", Map.of("size", "1M", "subformat", "fixed"));
    try (BlockDevice d = Vhds.open(p, "vhd", false)) {
      assertEquals("vpc", d.info().format(), "reported under its name, as qemu-img does");
      assertEquals("fixed", d.info().formatSpecific().get("type"));
    }
  }
}
