package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code blockkit convert} per format, against qemu-img on the same small images: a qemu-made
 * image converted to raw is byte-identical to qemu-img's conversion, and blockkit's conversion
 * of raw into the format passes {@code qemu-img check} and {@code qemu-img compare}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FormatConvertParityTest {
  private Path dir;
  private Path raw;

  @BeforeAll
  void source(@TempDir Path tmp) throws Exception {
    Qemu.require();
    dir = tmp;
    raw = dir.resolve("src.raw");
    Qemu.run("create", "-q", "-f", "raw", raw.toString(), "6M");
    // data, a zero run written as data, a partial cluster, and data at the end
    Qemu.io("-f", "raw", "-c", "write -P 0x5a 0 1M", "-c", "write -P 0 1M 512k",
        "-c", "write -P 0x11 2M 3k", "-c", "write -P 0xee 5M 1M", raw.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"qcow2", "vmdk", "vpc", "vhdx", "vdi"})
  void qemuMadeImageToRawMatchesQemuImg(String fmt) throws Exception {
    Path img = dir.resolve("q." + fmt);
    assertEquals(0, Qemu.run("convert", "-f", "raw", "-O", fmt, raw.toString(), img.toString())
        .code());
    Qemu.io("-f", fmt, "-c", "write -P 0x33 3M 64k", "-c", "write -z 0 64k", img.toString());
    Path theirs = dir.resolve("q-" + fmt + ".raw");
    Path mine = dir.resolve("b-" + fmt + ".raw");
    assertEquals(0, Qemu.run("convert", "-f", fmt, "-O", "raw", img.toString(),
        theirs.toString()).code());
    Cli.ok("convert", "-f", fmt, "-O", "raw", img.toString(), mine.toString());
    assertArrayEquals(Files.readAllBytes(theirs), Files.readAllBytes(mine), fmt);
  }

  @ParameterizedTest
  @ValueSource(strings = {"qcow2", "vmdk", "vpc", "vhdx", "vdi"})
  void blockkitMadeImagePassesQemuCheckAndCompare(String fmt) throws Exception {
    Path out = dir.resolve("b." + fmt);
    Cli.ok("convert", "-f", "raw", "-O", fmt, raw.toString(), out.toString());
    Cli.Result check = Qemu.run("check", "-f", fmt, out.toString());
    // qemu-img has no check for VHD (exit 63, "does not support checks")
    int clean = fmt.equals("vpc") ? 63 : 0;
    assertEquals(clean, check.code(), () -> fmt + ": " + check.out() + check.err());
    Cli.Result cmp = Qemu.run("compare", "-f", "raw", "-F", fmt, raw.toString(), out.toString());
    assertEquals(0, cmp.code(), () -> fmt + ": " + cmp.out() + cmp.err());
    assertTrue(cmp.out().contains("Images are identical."), cmp.out());
  }
}
