package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.SurrogateEscape;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Names are what the user typed, byte for byte: a trailing slash keeps its meaning (issue 9, item
 * 6) and any byte string is a name, whatever the JVM's file-name encoding (item 8).
 */
class FileNamesTest {
  @TempDir Path dir;

  private static void create(FileDriver d, String location) throws IOException {
    d.create(new CreateRequest(location, null, Options.parse("size=64k", d.createOptions())));
  }

  private static void open(FileDriver d, String location, boolean readOnly) throws IOException {
    d.open(OpenRequest.of(location, null, readOnly)).close();
  }

  private static void assertReason(Reason expected, String what, Executable action) {
    ImageAccessException e = assertThrows(ImageAccessException.class, action, what);
    assertEquals(expected, e.reason(), what + ": " + e.getMessage());
  }

  /** What the kernel (and qemu-img) says for each: see the README's table. */
  @Test
  void trailingSlashMeansDirectory() throws IOException {
    Path file = dir.resolve("x.img");
    Files.write(file, new byte[] {1, 2, 3});
    Path sub = Files.createDirectory(dir.resolve("sub"));
    String missing = dir.resolve("nodir") + "/";
    for (boolean useNative : new boolean[] {true, false}) {
      FileDriver d = new FileDriver(useNative);
      String which = useNative ? " (native)" : " (portable)";
      assertReason(Reason.IS_DIRECTORY, "create nodir/" + which, () -> create(d, missing));
      assertReason(Reason.IS_DIRECTORY, "create x.img/" + which, () -> create(d, file + "/"));
      assertReason(Reason.IS_DIRECTORY, "create sub/" + which, () -> create(d, sub + "/"));
      for (boolean ro : new boolean[] {true, false}) {
        String how = (ro ? "open ro " : "open rw ");
        assertReason(Reason.NOT_A_DIRECTORY, how + "x.img/" + which,
            () -> open(d, file + "/", ro));
        assertReason(Reason.NOT_A_DIRECTORY, how + "x.img/." + which,
            () -> open(d, file + "/.", ro));
        assertReason(Reason.NOT_FOUND, how + "nodir/" + which, () -> open(d, missing, ro));
        assertReason(Reason.IS_DIRECTORY, how + "sub/" + which, () -> open(d, sub + "/", ro));
      }
      assertReason(Reason.NOT_A_DIRECTORY, "delete x.img/" + which,
          () -> d.delete(file + "/"));
      assertReason(Reason.IS_DIRECTORY, "delete sub/" + which, () -> d.delete(sub + "/"));
      assertReason(Reason.IS_DIRECTORY, "delete sub" + which, () -> d.delete(sub.toString()));
    }
    assertFalse(Files.exists(dir.resolve("nodir")), "create nodir/ made a file");
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file), "x.img/ touched x.img");
    assertTrue(Files.isDirectory(sub));
  }

  /** The names in {@code dir}, as hex bytes, from the shell (no Java decoding in between). */
  private List<String> namesOnDisk() throws Exception {
    Process p = new ProcessBuilder("sh", "-c",
        "for f in *; do [ -e \"$f\" ] || continue; printf '%s' \"$f\" | od -An -v -tx1 | tr -d ' \\n'; echo; done")
        .directory(dir.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertEquals(0, p.waitFor());
    return out.isBlank() ? List.of() : List.of(out.trim().split("\n"));
  }

  private static String hex(String name) {
    return HexFormat.of().formatHex(SurrogateEscape.encode(name));
  }

  /**
   * UTF-8 and invalid UTF-8 names are created, written, read and deleted as their exact bytes.
   * Before the byte route the invalid ones were not valid file names at all (and under LC_ALL=C
   * not even the UTF-8 one was).
   */
  @Test
  void anyByteStringIsAName() throws Exception {
    FileDriver d = new FileDriver();
    List<String> names = List.of("\u00fcn\u00ef.img", "\udcff\udcfe.img", "a\udcc3.img",
        "\u00e9\udce9.img");
    List<String> expected = new ArrayList<>();
    for (String name : names) {
      String location = dir + "/" + name;
      create(d, location);
      try (BlockDevice dev = d.open(OpenRequest.of(location, null, false))) {
        dev.write(0, ByteBuffer.wrap(SurrogateEscape.encode(name)));
      }
      try (BlockDevice dev = d.open(OpenRequest.of(location, null, true))) {
        ByteBuffer back = ByteBuffer.allocate(SurrogateEscape.encode(name).length);
        dev.read(0, back);
        assertEquals(name, SurrogateEscape.decode(back.array()));
      }
      expected.add(hex(name));
    }
    assertEquals(expected.stream().sorted().toList(), namesOnDisk().stream().sorted().toList());
    for (String name : names) {
      d.delete(dir + "/" + name);
    }
    assertEquals(List.of(), namesOnDisk());
  }

  /** A name another program made from raw bytes opens under the string that decodes them. */
  @Test
  void namesMadeElsewhereOpen() throws Exception {
    Process p = new ProcessBuilder("sh", "-c", "printf 'abc' > \"$(printf 'r\\377\\303.img')\"")
        .directory(dir.toFile()).start();
    assertEquals(0, p.waitFor());
    try (BlockDevice dev = new FileDriver().open(OpenRequest.of(dir + "/r\udcff\udcc3.img", null,
        true))) {
      assertEquals(3, dev.size());
    }
  }

  @Test
  void stringsThatNameNoBytesAreInvalid() {
    FileDriver d = new FileDriver();
    for (String bad : List.of(dir + "/a\ud800.img", dir + "/\udc41.img", dir + "/a\0b")) {
      InvalidOptionException e = assertThrows(InvalidOptionException.class,
          () -> open(d, bad, true), bad);
      assertTrue(e.getMessage().contains("not a valid file name"), e.getMessage());
    }
  }
}
