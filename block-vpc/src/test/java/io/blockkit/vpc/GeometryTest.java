package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CHS geometry: the specification's algorithm (rounding down), qemu-img's upward search that
 * makes images grow, and the maximum geometry past which the size is kept as requested.
 */
class GeometryTest {
  @TempDir
  Path dir;

  /** Values qemu-img 7.2 produced on this project's machines (see the format reference). */
  @ParameterizedTest(name = "{0} sectors -> {1}/{2}/{3}")
  @CsvSource({"2097152, 2081, 16, 63", "16384, 241, 4, 17", "2, 1, 4, 17", "0, 0, 0, 0"})
  void roundingUpAsQemuImgDoes(long sectors, int c, int h, int s) {
    assertEquals(new Geometry(c, h, s), Geometry.roundingUp(sectors));
  }

  @Test
  void pastTheLargestGeometryTheMaximumStands() {
    assertEquals(267382800L, Geometry.MAX_SECTORS);
    assertEquals(Geometry.MAX, Geometry.roundingUp(Geometry.MAX_SECTORS));
    assertEquals(Geometry.MAX, Geometry.roundingUp(400L << 21));
    assertEquals(Geometry.MAX, Geometry.of(Long.MAX_VALUE));
  }

  @Property(tries = 300)
  void theSpecificationRoundsDownAndTheSearchUp(
      @ForAll @LongRange(min = 1, max = 267382799L) long sectors) {
    Geometry down = Geometry.of(sectors);
    Geometry up = Geometry.roundingUp(sectors);
    assertTrue(down.sectors() <= sectors, down + " for " + sectors);
    assertTrue(up.sectors() >= sectors, up + " for " + sectors);
    assertTrue(up.heads() <= 16 && up.cylinders() <= 65535 && up.sectorsPerTrack() <= 255);
  }

  /** qemu-img create's virtual size is the searched geometry's, for random requests. */
  @Test
  void theSearchMatchesQemuImgForRandomSizes() throws Exception {
    Vhds.requireQemu();
    Random rnd = new Random(0x6e0);
    for (int i = 0; i < 12; i++) {
      long bytes = 512L * (1 + (long) (rnd.nextDouble() * (i < 6 ? 1 << 16 : 1L << 26)));
      Path p = dir.resolve("g" + i + ".vhd");
      Vhds.qemuImg("create", "-q", "-f", "vpc", p.toString(), Long.toString(bytes)).expect(0);
      Geometry g = Geometry.roundingUp(bytes / 512);
      assertEquals(g.sectors() * 512, VpcQemuInteropTest.virtualSize(p), "request " + bytes);
    }
  }
}
