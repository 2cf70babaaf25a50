package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A convert to a multi-file VMDK that fails half-way leaves the folder as it was: the descriptor
 * and every extent file the create made are removed (the source fails its third read, through
 * blkdebug, after the extents exist).
 */
class FailedVmdkTargetTest {
  @ParameterizedTest
  @ValueSource(strings = {"monolithicFlat", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse",
      "monolithicSparse", "streamOptimized"})
  void failedConvertLeavesNoExtentFiles(String subformat, @TempDir Path dir) throws IOException {
    Path src = dir.resolve("src.raw");
    byte[] data = new byte[8 << 20];
    java.util.Arrays.fill(data, (byte) 5);
    Files.write(src, data);
    Path out = Files.createDirectory(dir.resolve("out"));
    Files.writeString(out.resolve("unrelated.txt"), "keep me");
    List<String> before = list(out);

    Cli.Result r = Cli.run("convert", "--image-opts",
        "driver=raw,file.driver=blkdebug,file.fail-read=3,file.file.filename=" + src,
        "-O", "vmdk", "-o", "subformat=" + subformat, out.resolve("t.vmdk").toString());
    assertTrue(r.assertOneLineError(1).contains("Injected fault"), r.err());
    assertEquals(before, list(out), subformat);

    // the same convert without the fault makes the extent files, so the test sees them
    Cli.ok("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=" + subformat, src.toString(),
        out.resolve("t.vmdk").toString());
    List<String> after = list(out);
    boolean multiFile = subformat.equals("monolithicFlat") || subformat.startsWith("twoGb");
    assertEquals(before.size() + (multiFile ? 2 : 1), after.size(), after::toString);
  }

  private static List<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
