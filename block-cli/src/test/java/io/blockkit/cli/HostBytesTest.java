package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class HostBytesTest {
  private static byte[] cmdline(String... entries) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (String e : entries) {
      for (char c : e.toCharArray()) {
        b.write(c); // each char is one byte here
      }
      b.write(0);
    }
    return b.toByteArray();
  }

  @Test
  void theLastEntriesAreTheArgumentsAsTheirBytes() {
    byte[] raw = cmdline("java", "-cp", "x.jar", "Main", "info", "\u00c3\u00bc\u00ff.vdi", "");
    // what the JVM made of them under LC_ALL=C: a replacement character per byte
    String[] given = {"info", "\ufffd\ufffd\ufffd.vdi", ""};
    assertArrayEquals(new String[] {"info", "\u00fc\udcff.vdi", ""},
        HostBytes.arguments(given, raw));
  }

  @Test
  void argumentsThatDoNotMatchAreLeftAlone() {
    String[] given = {"info", "a.vdi"};
    assertArrayEquals(given, HostBytes.arguments(given, cmdline("java", "check", "b.vdi")));
    assertArrayEquals(given, HostBytes.arguments(given, cmdline("a.vdi")));
    assertArrayEquals(given, HostBytes.arguments(given, new byte[0]));
  }

  @Test
  void printStreamsPrintEscapedBytesExactly() {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (PrintStream p = HostBytes.printStream(b, false)) {
      p.println("'\u00fc\udcff'");
      p.print((Object) "\udcfe");
      p.printf("%s%d", "\udcc3", 7);
    }
    assertArrayEquals(new byte[] {'\'', (byte) 0xc3, (byte) 0xbc, (byte) 0xff, '\'', '\n',
        (byte) 0xfe, (byte) 0xc3, '7'}, b.toByteArray());
  }
}
