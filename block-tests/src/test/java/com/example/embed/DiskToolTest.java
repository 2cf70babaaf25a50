package com.example.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.ops.Compare;
import io.blockkit.ops.Create;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's embedding example runs: on a VDI with a boot sector, it prints and copies. */
class DiskToolTest {
  @TempDir
  Path dir;

  @Test
  void probesReadsAndConvertsWithProgress() throws Exception {
    Path vdi = dir.resolve("disk.vdi");
    BlockRegistry registry = BlockRegistry.load();
    Create.image(vdi.toString()).format("vdi").size(8 << 20).run(registry);
    byte[] boot = new byte[512];
    new Random(1).nextBytes(boot);
    boot[510] = 0x55;
    boot[511] = (byte) 0xaa;
    try (BlockDevice d = registry.open(vdi.toString(), OpenParams.defaults())) {
      d.write(0, ByteBuffer.wrap(boot));
      d.write(5 << 20, ByteBuffer.wrap(boot));
    }
    Path raw = dir.resolve("disk.raw");
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    DiskTool.run(vdi.toString(), raw.toString(), new PrintStream(printed, true,
        StandardCharsets.UTF_8));
    List<String> lines = printed.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(vdi + ": vdi, 8388608 bytes", lines.get(0));
    assertEquals("boot sector found", lines.get(1));
    assertEquals("RUNNING 0%", lines.get(2));
    assertEquals("CONCLUDED 100%", lines.get(lines.size() - 2));
    assertEquals("copied 8388608 bytes to " + raw, lines.get(lines.size() - 1));
    assertEquals(8 << 20, Files.size(raw));
    try (BlockDevice a = registry.open(vdi.toString(), OpenParams.readOnlyDefaults());
        BlockDevice b = registry.open(raw.toString(), OpenParams.readOnlyDefaults()
            .withFormat("raw"))) {
      assertTrue(Compare.of(a, b).run().identical());
    }
  }
}
