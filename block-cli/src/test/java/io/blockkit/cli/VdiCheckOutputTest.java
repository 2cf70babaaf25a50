package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code check} prints for a badly broken VDI (a few lines per kind of finding for people,
 * nothing but the JSON object with {@code --output=json}), and the zero-size VDI qemu-img makes.
 */
class VdiCheckOutputTest {
  @TempDir
  Path dir;

  /** A 16 MiB VDI of 32 written 512 KiB blocks, cut 1000 bytes into the data area. */
  private Path truncatedVdi() throws Exception {
    Path raw = dir.resolve("data.raw");
    byte[] data = new byte[16 << 20];
    Arrays.fill(data, (byte) 7);
    Files.write(raw, data);
    Path vdi = dir.resolve("cut.vdi");
    Cli.ok("convert", "-f", "raw", "-O", "vdi", "-o", "block_size=512K", raw.toString(),
        vdi.toString());
    long dataOffset = Cli.ok("info", "--output=json", vdi.toString()).json()
        .get("format-specific").get("data").get("data-offset").asLong();
    try (RandomAccessFile f = new RandomAccessFile(vdi.toFile(), "rw")) {
      f.setLength(dataOffset + 1000);
    }
    return vdi;
  }

  private static long errorLines(Cli.Result r) {
    return r.errLines().stream().filter(l -> l.startsWith("ERROR:")).count();
  }

  @Test
  void manyFindingsPrintAFewLinesAndExactCounts() throws Exception {
    Path vdi = truncatedVdi();
    Cli.Result human = Cli.run("check", vdi.toString());
    assertEquals(2, human.code(), human.err());
    assertEquals(21, errorLines(human), human.err());
    assertTrue(human.err().contains("ERROR: ... and 12 more blocks whose data lie past the end "
        + "of the file"), human.err());
    assertTrue(human.out().contains("32 errors were found on the image."), human.out());
  }

  /** JSON output carries the counts; the human lines (to stderr) went with it before. */
  @Test
  void jsonOutputHasNoHumanLines() throws Exception {
    Path vdi = truncatedVdi();
    Cli.Result json = Cli.run("check", "--output=json", vdi.toString());
    assertEquals(2, json.code(), json.err());
    assertEquals(List.of(), json.errLines());
    JsonNode r = json.json();
    assertEquals(32, r.get("corruptions").asLong());
    Cli.Result repaired = Cli.run("check", "-r", "all", "--output=json", vdi.toString());
    assertEquals(0, repaired.code(), repaired.err());
    assertEquals(List.of(), repaired.errLines());
    assertEquals(32, repaired.json().get("corruptions-fixed").asLong());
  }

  /** {@code qemu-img create -f vdi x 0}: opens, checks clean, maps and converts to raw. */
  @Test
  void zeroSizeVdiFromQemuImg() throws Exception {
    Path vdi = dir.resolve("zero.vdi");
    assertEquals(0, Qemu.run("create", "-q", "-f", "vdi", vdi.toString(), "0").code());
    JsonNode info = Cli.ok("info", "--output=json", vdi.toString()).json();
    assertEquals(0, info.get("virtual-size").asLong());
    assertEquals(Qemu.run("check", vdi.toString()).code(), Cli.ok("check", vdi.toString())
        .code());
    assertEquals(0, Cli.ok("map", "--output=json", vdi.toString()).json().get(0).get("length")
        .asLong());
    Path raw = dir.resolve("zero.raw");
    Cli.ok("convert", "-O", "raw", vdi.toString(), raw.toString());
    assertEquals(0, Files.size(raw));
    // Creating a 0-byte VDI stays refused: VirtualBox cannot open one.
    String error = Cli.run("convert", "-O", "vdi", vdi.toString(), dir.resolve("copy.vdi")
        .toString()).assertOneLineError(1);
    assertTrue(error.contains("VirtualBox cannot open"), error);
  }
}
