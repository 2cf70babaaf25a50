package io.blockkit.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The s3 driver is found with the others, but the AWS SDK is not loaded until an s3 image is
 * opened: a JVM that loads every driver and opens a local image loads no SDK class.
 */
class S3ClassLoadingTest {
  @Test
  void openingALocalImageLoadsNoSdkClass(@TempDir Path dir) throws Exception {
    Path image = dir.resolve("disk.img");
    Files.write(image, new byte[4096]);
    ProcessBuilder pb = new ProcessBuilder(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-verbose:class", "-cp", System.getProperty("java.class.path"),
        S3InfoMain.class.getName(), image.toString())).redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
    assertEquals(0, p.exitValue(), out.lines().filter(l -> !l.startsWith("[")).toList()
        .toString());
    assertTrue(out.contains("io.blockkit.s3.S3Driver "), "the s3 driver was not loaded");
    assertFalse(out.contains("software.amazon."), "an SDK class was loaded: " + out.lines()
        .filter(l -> l.contains("software.amazon.")).findFirst().orElse(""));
  }
}
