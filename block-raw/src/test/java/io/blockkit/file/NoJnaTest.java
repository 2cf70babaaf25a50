package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JNA is optional at run time: a program that leaves it off its class path (a Maven exclusion of
 * net.java.dev.jna:jna) still opens, locks, writes and reads files, with the degradation the
 * package documentation promises (block status all DATA and not claimed; lock conflicts found by
 * probing). {@link PortableFallbackTest} covers the fallbacks in this JVM with JNA present; this
 * test runs {@link NoJnaChild} in a JVM where JNA's classes cannot be loaded at all, so a class
 * that links against JNA on a path the fallback takes fails here.
 */
class NoJnaTest {
  @TempDir Path dir;

  @Test
  void theFileDriverWorksWithoutJnaOnTheClassPath() throws Exception {
    String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !Path.of(entry).getFileName().toString().startsWith("jna"))
        .collect(Collectors.joining(File.pathSeparator));
    assertFalse(classPath.isEmpty());
    Path scratch = Files.createDirectory(dir.resolve("scratch"));
    Path held = dir.resolve("held.img");
    FileDriver driver = new FileDriver();
    driver.create(new CreateRequest(held.toString(), null,
        Options.parse("size=64k", driver.createOptions())));
    // This process (with JNA) holds the image read-write while the child tries to open it.
    try (BlockDevice writer = driver.open(OpenRequest.of(held.toString(), null, false))) {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Path stderr = dir.resolve("child.err");
      Process child = new ProcessBuilder(java, "-cp", classPath, NoJnaChild.class.getName(),
          scratch.toString(), held.toString()).redirectError(stderr.toFile()).start();
      String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish in 60 s");
      String err = Files.readString(stderr);
      assertEquals(0, child.exitValue(), "child failed:\n" + out + err);
      List<String> expected = List.of(
          "jna=absent",
          "format=raw",
          "size=1048576",
          "second-open=locked",
          "read-back=same",
          "block-status-claimed=false",
          "first-extent=data,1048576",
          "held-elsewhere=locked",
          "files-left=1");
      assertEquals(expected, out.lines().collect(Collectors.toList()), out + err);
    }
  }
}
