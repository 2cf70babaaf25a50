package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.blockkit.api.SurrogateEscape;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * File names are bytes (issue 9, item 8): a UTF-8 name and one with bytes that are not UTF-8 work
 * for info, create, check and convert (both ends) under LC_ALL=C and under C.UTF-8, in a fresh
 * JVM started by the shell (whose arguments are the bytes themselves), and print back as the exact
 * bytes given. qemu-img reads what blockkit wrote under the same names.
 */
class NameBytesTest {
  private static final String UTF8_NAME = "\303\274n\303\257"; // ünï
  private static final String RAW_NAME = "r\377\376\303"; // not UTF-8
  @TempDir Path dir;

  /** Octal escapes as printf takes them, e.g. \303\274 for ü. */
  private static byte[] bytes(String octal) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 0; i < octal.length(); i++) {
      b.write(octal.charAt(i));
    }
    return b.toByteArray();
  }

  private static String printf(String name) {
    StringBuilder sb = new StringBuilder();
    for (byte x : bytes(name)) {
      sb.append(x >= 0x20 && x < 0x7f ? String.valueOf((char) x)
          : String.format("\\%03o", x & 0xff));
    }
    return sb.toString();
  }

  /**
   * Runs {@code tool} in {@link #dir} through sh, where an argument starting NAME1 or NAME2 starts
   * with the raw bytes of {@code n1} or {@code n2} instead: sh's printf makes them, so neither this
   * JVM's encoding nor the child's touches them on the way in.
   */
  private Proc.Bytes run(Map<String, String> env, List<String> tool, String n1, String n2,
      String... args) throws Exception {
    StringBuilder script = new StringBuilder("cd \"$1\" && shift && exec \"$@\"");
    for (String a : args) {
      script.append(' ');
      if (a.startsWith("NAME1") || a.startsWith("NAME2")) {
        script.append("\"$(printf '").append(printf(a.startsWith("NAME1") ? n1 : n2))
            .append("')\"");
        a = a.substring(5);
      }
      script.append('\'').append(a).append('\'');
    }
    List<String> cmd = new ArrayList<>(List.of("sh", "-c", script.toString(), "sh",
        dir.toString()));
    cmd.addAll(tool);
    return Proc.runBytes(cmd, env, 120);
  }

  private static Map<String, String> locale(String which) {
    Map<String, String> env = new HashMap<>();
    for (String k : List.of("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES")) {
      env.put(k, null);
    }
    if (which.equals("C")) {
      env.put("LC_ALL", "C");
    } else {
      env.put("LANG", which);
    }
    return env;
  }

  private static byte[] concat(String name, String suffix) {
    byte[] n = bytes(name);
    byte[] s = suffix.getBytes(StandardCharsets.US_ASCII);
    byte[] all = Arrays.copyOf(n, n.length + s.length);
    System.arraycopy(s, 0, all, n.length, s.length);
    return all;
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    return HexFormat.of().formatHex(haystack).contains(HexFormat.of().formatHex(needle));
  }

  private static void ok(Proc.Bytes r, String what) {
    assertEquals(0, r.code(), () -> what + " failed: "
        + new String(r.err(), StandardCharsets.UTF_8) + new String(r.out(), StandardCharsets.UTF_8));
  }

  /** The tool in a fresh JVM, tuned for start-up as the launcher does. */
  private static List<String> blockkit() {
    List<String> cmd = new ArrayList<>(Proc.blockkit());
    cmd.addAll(1, List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    return cmd;
  }

  @ParameterizedTest(name = "{0}, names {1} and {2}")
  @CsvSource({"C, utf8, raw", "C.UTF-8, utf8, raw", "C, raw, utf8", "C.UTF-8, raw, utf8"})
  void namesAreTheirBytes(String loc, String first, String second) throws Exception {
    Map<String, String> env = locale(loc);
    String n1 = first.equals("utf8") ? UTF8_NAME : RAW_NAME;
    String n2 = second.equals("utf8") ? UTF8_NAME : RAW_NAME;
    byte[] image = concat(n1, ".vdi");

    Proc.Bytes create = run(env, blockkit(), n1, n2, "create", "-f", "vdi", "NAME1.vdi", "1M");
    ok(create, "create");
    assertTrue(contains(create.out(), concat("Formatting '" + n1, ".vdi'")),
        () -> "create did not print the name's bytes: " + HexFormat.of().formatHex(create.out()));

    Proc.Bytes info = run(env, blockkit(), n1, n2, "info", "NAME1.vdi");
    ok(info, "info");
    assertTrue(contains(info.out(), concat("image: " + n1, ".vdi\n")),
        () -> "info: " + HexFormat.of().formatHex(info.out()));

    Proc.Bytes json = run(env, blockkit(), n1, n2, "info", "--output=json", "NAME1.vdi");
    ok(json, "info --output=json");
    JsonNode node = Cli.JSON.readTree(json.out()); // valid UTF-8 JSON whatever the name
    assertArrayEquals(image, SurrogateEscape.encode(node.get("filename").asText()));

    ok(run(env, blockkit(), n1, n2, "check", "NAME1.vdi"), "check");
    ok(run(env, blockkit(), n1, n2, "convert", "-O", "raw", "NAME1.vdi", "NAME2-copy.raw"),
        "convert");
    // the names on disk are the bytes given, and the copy is the image
    Qemu.require();
    ok(run(env, List.of("qemu-img"), n1, n2, "compare", "-f", "vdi", "-F", "raw", "NAME1.vdi",
        "NAME2-copy.raw"), "qemu-img compare");

    Proc.Bytes missing = run(env, blockkit(), n1, n2, "info", "NAME1-missing.vdi");
    assertEquals(1, missing.code());
    assertTrue(contains(missing.err(), concat("'" + n1, "-missing.vdi': No such file or directory")),
        () -> "error: " + HexFormat.of().formatHex(missing.err()));
  }
}
