package io.blockkit.vmdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Create options against qemu-img 7.2: the same options give the same descriptor (createType,
 * extent lines, virtual hardware version, geometry, adapter type, tools version), all but the
 * random CID. monolithicFlat keeps the descriptor in a text file, so it compares line by line.
 */
class VmdkCreateOptionsTest {
  @TempDir Path dir;

  @BeforeEach
  void qemu() {
    Tools.requireQemu();
  }

  /** The descriptor's meaningful lines: no comments, blanks or CID. */
  private static List<String> lines(Path desc) throws IOException {
    return Files.readAllLines(desc).stream().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#") && !l.startsWith("CID="))
        .collect(Collectors.toList());
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "100M | adapter_type=ide,hwversion=7,toolsversion=10240",
      "100M | adapter_type=lsilogic",
      "5G   | adapter_type=buslogic,compat6=on",
      "3G   | adapter_type=legacyESX,toolsversion=9",
      "1G   | hwversion=4"})
  void descriptorsMatchQemuImgs(String size, String options) throws IOException {
    Path q = Files.createDirectories(dir.resolve("q")).resolve("d.vmdk");
    Path b = Files.createDirectories(dir.resolve("b")).resolve("d.vmdk");
    Tools.ok("qemu-img", "create", "-q", "-f", "vmdk", "-o",
        "subformat=monolithicFlat," + options, q.toString(), size);
    Map<String, String> o = new HashMap<>(Map.of("size", size, "subformat", "monolithicFlat"));
    for (String kv : options.split(",")) {
      String[] p = kv.split("=", 2);
      o.put(p[0], p[1]);
    }
    Tools.create(b, o);
    assertEquals(lines(q), lines(b));
    assertEquals(Files.size(q.resolveSibling("d-flat.vmdk")),
        Files.size(b.resolveSibling("d-flat.vmdk")));
  }

  /** VMware reads a CID it did not write as a change of the disk: each create draws a new one. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"monolithicFlat", "twoGbMaxExtentSparse"})
  void everyCreateDrawsANewCid(String subformat) throws IOException {
    Path a = dir.resolve("a.vmdk");
    Path c = dir.resolve("c.vmdk");
    Tools.create(a, Map.of("size", "1M", "subformat", subformat));
    Tools.create(c, Map.of("size", "1M", "subformat", subformat));
    String cidA = Files.readAllLines(a).stream().filter(l -> l.startsWith("CID=")).findFirst()
        .orElseThrow();
    String cidC = Files.readAllLines(c).stream().filter(l -> l.startsWith("CID=")).findFirst()
        .orElseThrow();
    assertNotEquals(cidA, cidC);
  }
}
