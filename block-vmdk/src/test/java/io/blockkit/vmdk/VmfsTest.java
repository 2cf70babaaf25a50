package io.blockkit.vmdk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ESX descriptor types qemu-img reads but does not create, built by hand from the format
 * description: {@code vmfs} (a flat VMFS extent) and {@code vmfsSparse} (a COWD redo log with
 * 4096-entry grain tables). What blockkit reads must equal what {@code qemu-img convert} reads.
 */
class VmfsTest {
  private static final int MIB = 1 << 20;
  /**
   * qemu-img 7.2 reads some extent lines twice (the disk doubles): one at the end of the file,
   * or followed by a blank line. These descriptors have no blank lines and end with a disk
   * database line, as VMware's do.
   */
  private static final String DDB = "ddb.adapterType = \"lsilogic\"\n";

  @TempDir Path dir;

  @BeforeEach
  void qemu() {
    Tools.requireQemu();
  }

  /** What qemu-img reads of {@code desc}, as raw bytes. */
  private byte[] qemuReads(Path desc) throws IOException {
    Path raw = dir.resolve("qemu.raw");
    Tools.ok("qemu-img", "convert", "-f", "vmdk", "-O", "raw", desc.toString(), raw.toString());
    return Files.readAllBytes(raw);
  }

  private static byte[] readAll(BlockDevice d) throws IOException {
    return Tools.read(d, 0, (int) d.size());
  }

  private static byte[] pattern(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (seed + i * 7);
    }
    return b;
  }

  @Test
  void aVmfsFlatExtentReadsAsQemuReadsIt() throws IOException {
    Files.write(dir.resolve("v-flat.vmdk"), pattern(MIB, 3));
    Path desc = dir.resolve("v.vmdk");
    Files.writeString(desc, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
        + "parentCID=ffffffff\ncreateType=\"vmfs\"\nRW 2048 VMFS \"v-flat.vmdk\"\n" + DDB);
    try (BlockDevice d = Tools.open(desc, false)) {
      assertEquals(MIB, d.size());
      Tools.writeAll(d, 4096, new byte[] {42});
    }
    byte[] expected = pattern(MIB, 3);
    expected[4096] = 42;
    assertArrayEquals(expected, qemuReads(desc), "qemu-img reads blockkit's write");
    try (BlockDevice d = Tools.open(desc, true)) {
      assertArrayEquals(expected, readAll(d));
    }
  }

  /**
   * A COWD extent: header (magic, version 1, flags 3, capacity, grain size, GD sector, GD
   * entries, next free sector), the GD at sector 4, one 4096-entry GT at sector 5, grains 0 and
   * 3 of 64 KiB from sector 37, right after the table; the other grains are unallocated
   * (zeros, no parent).
   */
  private Path cowd() throws IOException {
    int grainSectors = 128;
    ByteBuffer f = ByteBuffer.allocate((37 + 2 * grainSectors) * 512)
        .order(ByteOrder.LITTLE_ENDIAN);
    f.putInt(0, CowdExtent.MAGIC).putInt(4, 1).putInt(8, 3).putInt(12, 2048)
        .putInt(16, grainSectors).putInt(20, 4).putInt(24, 1).putInt(28, 37 + 2 * grainSectors);
    f.putInt(4 * 512, 5);
    f.putInt(5 * 512, 37).putInt(5 * 512 + 4 * 3, 37 + grainSectors);
    f.put(37 * 512, pattern(65536, 1)).put((37 + grainSectors) * 512, pattern(65536, 2));
    Files.write(dir.resolve("s-delta.vmdk"), f.array());
    Path desc = dir.resolve("s.vmdk");
    Files.writeString(desc, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
        + "parentCID=ffffffff\ncreateType=\"vmfsSparse\"\n"
        + "RW 2048 VMFSSPARSE \"s-delta.vmdk\"\n" + DDB);
    return desc;
  }

  @Test
  void aVmfsSparseExtentReadsAsQemuReadsIt() throws IOException {
    Path desc = cowd();
    byte[] expected = new byte[MIB];
    System.arraycopy(pattern(65536, 1), 0, expected, 0, 65536);
    System.arraycopy(pattern(65536, 2), 0, expected, 3 * 65536, 65536);
    assertArrayEquals(expected, qemuReads(desc), "the hand-built image, as qemu-img reads it");
    try (BlockDevice d = Tools.open(desc, true)) {
      assertEquals(MIB, d.size());
      assertArrayEquals(expected, readAll(d));
      io.blockkit.api.CheckReport r = d.check(io.blockkit.api.CheckMode.REPORT);
      assertTrue(r.isClean(), r.toString());
    }
  }

  @Test
  void aVmfsSparseImageOpensReadOnly() throws IOException {
    Path desc = cowd();
    byte[] before = Files.readAllBytes(dir.resolve("s-delta.vmdk"));
    BlockException e = assertThrows(BlockException.class, () -> Tools.open(desc, false).close());
    assertTrue(e.getMessage().contains("s-delta.vmdk") || e.getMessage().contains("s.vmdk"),
        e.getMessage());
    assertTrue(Arrays.equals(before, Files.readAllBytes(dir.resolve("s-delta.vmdk"))));
  }
}
