package io.blockkit.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
  @TempDir Path dir;

  @Test
  void roundTripAndQemu() throws Exception {
    TestImages.requireQemu();
    Path f = dir.resolve("a.vhdx");
    TestImages.create(f, Map.of("size", "64M"));
    byte[] model = new byte[64 << 20];
    try (BlockDevice d = TestImages.open(f, false)) {
      byte[] a = TestImages.random(1, 100000);
      TestImages.write(d, 12345, a);
      System.arraycopy(a, 0, model, 12345, a.length);
      byte[] b = TestImages.random(2, 3 << 20);
      TestImages.write(d, 20 << 20, b);
      System.arraycopy(b, 0, model, 20 << 20, b.length);
      assertArrayEquals(model, TestImages.readAll(d));
      System.out.println(d.check(CheckMode.REPORT));
    }
    try (BlockDevice d = TestImages.open(f, true)) {
      assertArrayEquals(model, TestImages.readAll(d));
    }
    TestImages.Result r = TestImages.run("qemu-img", "check", f.toString());
    System.out.println(r.output());
    assertEquals(0, r.exit());
    Path raw = dir.resolve("m.raw");
    Files.write(raw, model);
    r = TestImages.run("qemu-img", "compare", "-f", "vhdx", "-F", "raw", f.toString(), raw.toString());
    System.out.println(r.output());
    assertEquals(0, r.exit());
    Path q = dir.resolve("q.vhdx");
    TestImages.run("qemu-img", "create", "-f", "vhdx", q.toString(), "64M");
    r = TestImages.run("qemu-io", "-c", "write -P 0x5a 1M 3M", "-c", "write -P 0x11 40M 4k", q.toString());
    System.out.println(r.output());
    try (BlockDevice d = TestImages.open(q, true)) {
      byte[] all = TestImages.readAll(d);
      for (int i = 0; i < all.length; i++) {
        byte expected = (byte) (i >= (1 << 20) && i < (4 << 20) ? 0x5a : i >= (40 << 20) && i < (40 << 20) + 4096 ? 0x11 : 0);
        if (all[i] != expected) {
          throw new AssertionError("byte " + i + " " + all[i]);
        }
      }
      System.out.println(d.info());
    }
  }
}
