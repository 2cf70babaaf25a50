package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Converts from a source in a local file, which blockkit reads through memory-mapped views, and
 * copy offload ({@code -C}), which copies raw to raw inside the kernel: every byte equal, and the
 * holes {@code -S} asks for kept.
 */
class ConvertOffloadTest {
  private static final int MB = 1 << 20;

  @TempDir
  Path dir;

  /**
   * 21 MiB + 1536 bytes: data with 64 KiB and 4 KiB zero runs inside it, a 5 MiB hole, data
   * straddling chunk boundaries, a partial last sector.
   */
  private byte[] source(Path p) throws Exception {
    int size = 21 * MB + 1536;
    byte[] model = new byte[size];
    Random rnd = new Random(42);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(size); // a hole wherever nothing is written
      int[][] runs = {{0, 3 * MB}, {3 * MB + 4096, MB}, {(9 * MB) - 5000, 4 * MB},
          {17 * MB, 4 * MB + 1536}};
      for (int[] r : runs) {
        byte[] d = new byte[r[1]];
        rnd.nextBytes(d);
        java.util.Arrays.fill(d, 65536, 131072, (byte) 0); // aligned 64 KiB zero run in data
        java.util.Arrays.fill(d, 200704, 204800, (byte) 0); // one zero 4 KiB block
        f.seek(r[0]);
        f.write(d);
        System.arraycopy(d, 0, model, r[0], r[1]);
      }
    }
    return model;
  }

  private static long allocated(Path p) throws Exception {
    // st_blocks, as qemu-img's "disk size" (no JDK attribute gives it)
    Process pr = new ProcessBuilder("stat", "-c", "%b", p.toString()).start();
    String out = new String(pr.getInputStream().readAllBytes()).trim();
    assertEquals(0, pr.waitFor());
    return Long.parseLong(out) * 512;
  }

  @ParameterizedTest(name = "[{index}] flags ''{0}'' -S {1}")
  @CsvSource({
      "'-C', 4k", "'-C', 0", "'-C', 64k", "'-C -W -m 4', 4k", "'-C -m 1', 512",
      "'', 4k", "'', 0", "'-W -m 3', 64k"})
  void rawToRawCopiesEveryByteAndKeepsHoles(String flags, String sparse) throws Exception {
    Path src = dir.resolve("src.raw");
    byte[] model = source(src);
    Path dst = dir.resolve("dst.raw");
    List<String> args = new ArrayList<>(List.of("convert", "-f", "raw", "-O", "raw", "-S",
        sparse));
    if (!flags.isEmpty()) {
      args.addAll(List.of(flags.split(" ")));
    }
    args.add(src.toString());
    args.add(dst.toString());
    Cli.ok(args.toArray(String[]::new));
    assertArrayEquals(model, Files.readAllBytes(dst));
    long data = 3 * MB + MB + 4 * MB + 4 * MB + 1536; // bytes written into the source
    if (sparse.equals("0")) {
      // every byte written: fully allocated
      assertTrue(allocated(dst) >= model.length - 4096, "allocated " + allocated(dst));
    } else {
      // the 5 MiB hole and the zero runs inside data stay holes
      assertTrue(allocated(dst) <= data, "allocated " + allocated(dst) + " of data " + data);
      if (!sparse.equals("64k")) {
        // (the unaligned ends of the data runs take a file-system block each)
        assertTrue(allocated(dst) <= data - 4 * 65536 + 4 * 4096, "zero runs in data were written: "
            + allocated(dst));
      }
    }
  }

  @Test
  void mappedSourceIntoOtherFormatsReadsBackEqual() throws Exception {
    Path src = dir.resolve("src.raw");
    byte[] model = source(src);
    for (String fmt : List.of("vdi", "qcow2")) {
      Path dst = dir.resolve("dst." + fmt);
      Cli.ok("convert", "-f", "raw", "-O", fmt, src.toString(), dst.toString());
      Path back = dir.resolve("back-" + fmt + ".raw");
      Cli.ok("convert", "-f", fmt, "-O", "raw", dst.toString(), back.toString());
      assertArrayEquals(model, Files.readAllBytes(back), fmt);
      if (Qemu.available()) {
        Cli.Result cmp = Qemu.run("compare", "-f", "raw", "-F", fmt, src.toString(),
            dst.toString());
        assertEquals(0, cmp.code(), cmp.out());
      }
    }
  }

  @Test
  void offloadWithCompressionIsRefused() throws Exception {
    Path src = dir.resolve("s.raw");
    Files.write(src, new byte[MB]);
    String line = Cli.run("convert", "-C", "-c", "-O", "qcow2", src.toString(),
        dir.resolve("d.qcow2").toString()).assertOneLineError(1);
    assertTrue(line.contains("copy offloading"), line);
  }
}
