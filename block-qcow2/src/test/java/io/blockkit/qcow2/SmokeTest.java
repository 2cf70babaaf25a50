package io.blockkit.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
  @TempDir Path dir;

  @Test
  void createWriteReadCheck() throws Exception {
    Tools.requireQemu();
    Path img = dir.resolve("a.qcow2");
    Tools.create(img, Map.of("size", "64M"));
    System.out.println(Tools.qemuImg("check", img.toString()).out());
    byte[] data = Tools.pattern(1, 300000);
    try (BlockDevice d = Tools.open(img, false)) {
      Tools.write(d, 12345, data);
      assertArrayEquals(data, Tools.read(d, 12345, data.length));
      System.out.println(d.check(CheckMode.REPORT));
    }
    System.out.println(Tools.qemuImg("check", img.toString()).out());
    Path raw = dir.resolve("a.raw");
    Tools.qemuImg("convert", "-O", "raw", img.toString(), raw.toString()).expect(0);
    byte[] all = Tools.readFile(raw);
    assertArrayEquals(data, java.util.Arrays.copyOfRange(all, 12345, 12345 + data.length));
    Tools.qemuIo(img, "write -P 0xab 1M 128k", "write -z 2M 64k", "write -c 3M 64k").expect(0);
    try (BlockDevice d = Tools.open(img, true)) {
      byte[] ab = Tools.read(d, 1 << 20, 128 << 10);
      assertEquals((byte) 0xab, ab[0]);
      assertEquals((byte) 0xab, ab[ab.length - 1]);
      System.out.println(d.check(CheckMode.REPORT));
    }
  }
}
