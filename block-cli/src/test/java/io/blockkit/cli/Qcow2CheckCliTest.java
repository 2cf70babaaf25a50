package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** check on qcow2 images with compressed clusters: the statistics qemu-img prints, human and JSON. */
class Qcow2CheckCliTest {
  @Test
  void compressedClustersCountedLikeQemu(@TempDir Path dir) throws Exception {
    Qemu.require();
    String raw = dir.resolve("src.raw").toString();
    String packed = dir.resolve("packed.qcow2").toString();
    Qemu.run("create", "-q", "-f", "raw", raw, "4M");
    Qemu.io("-f", "raw", "-c", "write -P 7 0 512k", "-c", "write -P 9 2M 256k", raw);
    assertEquals(0, Qemu.run("convert", "-c", "-f", "raw", "-O", "qcow2", raw, packed).code());
    // then some plain clusters beside the compressed ones
    Qemu.io("-f", "qcow2", "-c", "write -P 3 3M 192k", packed);

    JsonNode theirs = Cli.JSON.readTree(Qemu.run("check", "--output=json", packed).out());
    JsonNode mine = Cli.ok("check", "--output=json", packed).json();
    assertEquals(12, theirs.get("compressed-clusters").asLong(), theirs::toString);
    assertEquals(theirs, mine);
    assertEquals(Qemu.run("check", packed).out(), Cli.ok("check", packed).out());
  }

  @Test
  void noCompressedClustersNoKeyLikeQemu(@TempDir Path dir) throws Exception {
    Qemu.require();
    String plain = dir.resolve("plain.qcow2").toString();
    Qemu.run("create", "-q", "-f", "qcow2", plain, "1M");
    Qemu.io("-f", "qcow2", "-c", "write -P 1 0 64k", plain);
    JsonNode mine = Cli.ok("check", "--output=json", plain).json();
    assertFalse(mine.has("compressed-clusters"), mine::toString);
    assertEquals(Cli.JSON.readTree(Qemu.run("check", "--output=json", plain).out()), mine);
  }
}
