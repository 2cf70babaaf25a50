package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A format blockkit recognises but has no driver for is an error naming it, never raw. */
class ForeignFormatCliTest {
  @TempDir
  Path dir;

  @Test
  void infoAndConvertNameTheFormatInsteadOfTreatingItAsRaw() throws Exception {
    Qemu.require();
    // qed: a format qemu-img makes and blockkit has no plan to read, so this stays an error.
    Path img = dir.resolve("disk.qed");
    assertEquals(0, Qemu.run("create", "-q", "-f", "qed", img.toString(), "16M").code());

    String line = Cli.run("info", img.toString()).assertOneLineError(1);
    assertTrue(line.contains("'" + img + "' is a qed image"), line);
    assertTrue(line.contains("no qed driver is installed"), line);

    Path out = dir.resolve("out.vdi");
    String conv = Cli.run("convert", "-O", "vdi", img.toString(), out.toString())
        .assertOneLineError(1);
    assertTrue(conv.contains("is a qed image"), conv);
    assertFalse(Files.exists(out), "no target is left behind");

    // Naming raw opens the container's bytes.
    Cli.Result raw = Cli.ok("info", "--output=json", "-f", "raw", img.toString());
    assertEquals("raw", raw.json().get("format").asText());
    assertEquals(Files.size(img), raw.json().get("virtual-size").asLong());
  }
}
