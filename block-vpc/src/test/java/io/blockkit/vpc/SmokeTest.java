package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.*;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
  @TempDir Path dir;

  @Test
  void dynamic() throws Exception {
    String loc = dir.resolve("d.vhd").toString();
    Vhds.create(loc, Map.of("size", "8M"));
    byte[] data = Vhds.pattern(1, 5000);
    try (BlockDevice d = Vhds.open(loc, false)) {
      assertEquals("vpc", d.driver().name());
      assertEquals(8390656, d.size());
      Vhds.write(d, 3000, data);
      assertArrayEquals(data, Vhds.read(d, 3000, 5000));
      System.out.println(d.check(CheckMode.REPORT));
    }
    try (BlockDevice d = Vhds.open(loc, true)) {
      assertArrayEquals(data, Vhds.read(d, 3000, 5000));
      System.out.println(d.check(CheckMode.REPORT));
      System.out.println(d.info());
    }
    System.out.println(Vhds.qemuImg("map", "--output=json", loc).stdout());
    System.out.println(Vhds.qemuIo(Path.of(loc), java.util.List.of("read -v 3000 16")).stdout());
  }
}
