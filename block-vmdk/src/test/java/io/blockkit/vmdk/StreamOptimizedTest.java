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
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * streamOptimized output as VMware's tools require it, checked by {@link StreamLayoutValidator}
 * (an independent reader): blockkit's passes, qemu-img 7.2's fails for the reasons ESXi and
 * ovftool reject it; and the append-only writing rules.
 */
class StreamOptimizedTest {
  private static final int GRAIN = 65536;

  @TempDir Path dir;

  private Path stream(String name, long size) throws IOException {
    Path p = dir.resolve(name);
    Tools.create(p, Map.of("size", Long.toString(size), "subformat", "streamOptimized"));
    return p;
  }

  @Test
  void blockkitsStreamsHaveTheLayoutVmwareRequires() throws IOException {
    assertEquals(List.of(), StreamLayoutValidator.check(stream("empty.vmdk", 5 << 20)),
        "an empty stream");
    Path p = stream("s.vmdk", (long) 2000 * GRAIN + 512); // four grain tables
    Random r = new Random(1);
    byte[] data = new byte[3 * GRAIN + 100];
    try (BlockDevice d = Tools.open(p, false)) {
      for (long off : new long[] {0, 5L * GRAIN + 7, 600L * GRAIN, 1999L * GRAIN + 1000}) {
        r.nextBytes(data);
        Tools.writeAll(d, off, java.util.Arrays.copyOf(data, (int) Math.min(data.length,
            d.size() - off)));
      }
      d.writeZeroes(1200L * GRAIN, 3 * GRAIN); // nothing stored
    }
    assertEquals(List.of(), StreamLayoutValidator.check(p), "blockkit's stream");
  }

  @Test
  void qemuImgStreamsFailTheLayout() throws IOException {
    Tools.requireQemu();
    Path raw = dir.resolve("in.raw");
    Tools.ok("qemu-img", "create", "-f", "raw", raw.toString(), "3M");
    Tools.ok("qemu-io", "-f", "raw", "-c", "write -P 7 64k 1M", raw.toString());
    Path q = dir.resolve("q.vmdk");
    Tools.ok("qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized",
        raw.toString(), q.toString());
    List<String> problems = StreamLayoutValidator.check(q);
    // What qemu-img 7.2 does differently: the grain directory's place in the header and tables
    // before the grains, no GD marker, footer or end-of-stream marker after them.
    assertTrue(problems.contains("header gdOffset is 26, not GD_AT_END (0xFFFFFFFFFFFFFFFF)"),
        problems.toString());
    assertTrue(problems.contains("no footer marker and footer"), problems.toString());
    assertTrue(problems.contains("no end-of-stream marker at the end of the file"),
        problems.toString());
    // ... and the same data converted by blockkit passes
    Path b = dir.resolve("b.vmdk");
    Tools.create(b, Map.of("size", "3M", "subformat", "streamOptimized"));
    try (BlockDevice src = Tools.registry().open(raw.toString(),
        io.blockkit.registry.OpenParams.readOnlyDefaults().withFormat("raw"));
        BlockDevice d = Tools.open(b, false)) {
      Tools.writeAll(d, 0, Tools.read(src, 0, 3 << 20));
    }
    assertEquals(List.of(), StreamLayoutValidator.check(b));
    assertTrue(Tools.ok("qemu-img", "compare", "-f", "vmdk", "-F", "raw", b.toString(),
        raw.toString()).contains("identical"));
  }

  @Test
  void aStreamIsWrittenOnceInOrder() throws IOException {
    Path p = stream("s.vmdk", 10L * GRAIN);
    try (BlockDevice d = Tools.open(p, false)) {
      Tools.writeAll(d, 0, new byte[] {1});
      Tools.writeAll(d, 100, new byte[] {2}); // the grain being filled takes more writes
      Tools.writeAll(d, 3L * GRAIN, new byte[] {3});
      BlockException back = assertThrows(BlockException.class,
          () -> Tools.writeAll(d, 10, new byte[] {4}));
      assertTrue(back.getMessage().contains("written once, in order"), back.getMessage());
      BlockException skipped = assertThrows(BlockException.class,
          () -> Tools.writeAll(d, GRAIN, new byte[] {5}));
      assertTrue(skipped.getMessage().contains("grain 1 "), skipped.getMessage());
      Tools.writeAll(d, GRAIN, new byte[8]); // zeros into a grain never written: nothing to do
      assertEquals(2, Tools.read(d, 100, 1)[0]);
      assertEquals(3, Tools.read(d, 3L * GRAIN, 1)[0], "the pending grain reads back");
    }
    try (BlockDevice d = Tools.open(p, true)) {
      assertArrayEquals(new byte[] {1, 0}, Tools.read(d, 0, 2));
      assertEquals(3, Tools.read(d, 3L * GRAIN, 1)[0]);
    }
    assertEquals(List.of(), StreamLayoutValidator.check(p));
  }

  @Test
  void flushLeavesACompleteStreamAndAppendingGoesOnAfterReopening() throws IOException {
    Path p = stream("s.vmdk", 2000L * GRAIN);
    try (BlockDevice d = Tools.open(p, false)) {
      Tools.writeAll(d, 0, VmdkQemuInteropTest.filled(GRAIN, 1));
      Tools.writeAll(d, 513L * GRAIN, VmdkQemuInteropTest.filled(100, 2));
      d.flush();
      assertEquals(List.of(), StreamLayoutValidator.check(p), "after a flush");
      Tools.writeAll(d, 514L * GRAIN, VmdkQemuInteropTest.filled(100, 3));
    }
    try (BlockDevice d = Tools.open(p, false)) {
      Tools.writeAll(d, 1500L * GRAIN, VmdkQemuInteropTest.filled(100, 4));
      assertThrows(BlockException.class, () -> Tools.writeAll(d, 514L * GRAIN, new byte[] {9}));
    }
    assertEquals(List.of(), StreamLayoutValidator.check(p), "after appending");
    try (BlockDevice d = Tools.open(p, true)) {
      assertEquals(1, Tools.read(d, GRAIN - 1, 1)[0]);
      assertEquals(2, Tools.read(d, 513L * GRAIN + 99, 1)[0]);
      assertEquals(3, Tools.read(d, 514L * GRAIN, 1)[0]);
      assertEquals(4, Tools.read(d, 1500L * GRAIN, 1)[0]);
      assertTrue(d.check(io.blockkit.api.CheckMode.REPORT).isClean());
    }
  }

  /**
   * Appending resumes after the last grain's marker: a damaged size there must not move where
   * the next grain (and the cut-off of the closing structures) goes. Before the fix the open
   * went on, and the next append truncated the file inside grain 1's compressed data.
   */
  @Test
  void aDamagedLastGrainMarkerRefusesAppendingAndLeavesTheFileAlone() throws IOException {
    Path p = stream("s.vmdk", 10L * GRAIN);
    byte[] data = new byte[2 * GRAIN];
    new Random(2).nextBytes(data);
    try (BlockDevice d = Tools.open(p, false)) {
      Tools.writeAll(d, 0, data);
    }
    long lastMarker;
    try (FileChannel f = FileChannel.open(p, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      f.read(b, 64);
      long first = b.getLong(0) * 512; // header.overhead: grain 0's marker
      f.read(b.clear(), first);
      lastMarker = first + (12 + Integer.toUnsignedLong(b.getInt(8)) + 511) / 512 * 512;
      f.read(b.clear(), lastMarker);
      assertEquals(GRAIN / 512, b.getLong(0), "grain 1's marker");
      f.write(ByteBuffer.allocate(4), lastMarker + 8); // compressed size: 0
    }
    byte[] before = Files.readAllBytes(p);
    IOException refused = assertThrows(IOException.class, () -> Tools.open(p, false).close());
    String m = refused.getMessage();
    assertTrue(m.contains("s.vmdk") && m.contains("grain 1") && m.contains("byte " + lastMarker)
        && m.contains("compressed size of 0, expected 1 to"), m);
    assertArrayEquals(before, Files.readAllBytes(p), "the refused open changed nothing");
    try (BlockDevice d = Tools.open(p, true)) {
      assertArrayEquals(Arrays.copyOf(data, GRAIN), Tools.read(d, 0, GRAIN), "grain 0 reads");
    }
  }
}
