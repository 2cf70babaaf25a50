package io.blockkit.cli;

import io.blockkit.api.SurrogateEscape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The command line and the standard streams as the bytes the host has, whatever the locale.
 *
 * <p>The JVM decodes {@code argv} with its file-name encoding (ASCII under {@code LC_ALL=C}), which
 * turns every byte it cannot decode into a replacement character: a file name like {@code ünï.vdi}
 * or one with bytes that are not UTF-8 is lost before {@code main} runs. {@link #arguments}
 * reads the original bytes back from {@code /proc/self/cmdline} and decodes them with {@link
 * SurrogateEscape}; {@link SurrogateEscape#writer} and {@link #printStream} print such strings as those exact
 * bytes again, and anything else as UTF-8.
 */
final class HostBytes {
  private static final Path CMDLINE = Path.of("/proc/self/cmdline");

  private HostBytes() {}

  /**
   * The arguments as {@link SurrogateEscape} strings of their bytes: the last {@code given.length}
   * entries of {@code /proc/self/cmdline}, if they are the arguments the JVM gave (the same
   * ASCII characters in each), else {@code given} unchanged (not Linux, no /proc, an embedded
   * JVM).
   */
  static String[] arguments(String[] given) {
    byte[] cmdline;
    try {
      cmdline = Files.readAllBytes(CMDLINE);
    } catch (IOException | RuntimeException e) {
      return given;
    }
    return arguments(given, cmdline);
  }

  static String[] arguments(String[] given, byte[] cmdline) {
    List<String> entries = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < cmdline.length; i++) {
      if (cmdline[i] == 0) {
        entries.add(SurrogateEscape.decode(Arrays.copyOfRange(cmdline, start, i)));
        start = i + 1;
      }
    }
    if (entries.size() < given.length) {
      return given;
    }
    String[] out = entries.subList(entries.size() - given.length, entries.size())
        .toArray(String[]::new);
    for (int i = 0; i < given.length; i++) {
      if (!ascii(out[i]).equals(ascii(given[i]))) {
        return given;
      }
    }
    return out;
  }

  /** The printable ASCII of {@code s} but '?', which the JVM may have put for other bytes. */
  private static String ascii(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    s.chars().filter(c -> c < 0x80 && c != '?').forEach(c -> sb.append((char) c));
    return sb.toString();
  }

  /**
   * A PrintStream for {@link System#setOut}/{@link System#setErr} that prints strings as {@link
   * SurrogateEscape#writer} does, for code that prints there directly.
   */
  static PrintStream printStream(OutputStream out, boolean autoFlush) {
    return new PrintStream(out, autoFlush, StandardCharsets.UTF_8) {
      // print(char[]/char/Object) and format/append all end in print(String); the remaining
      // overloads print numbers and booleans, which are ASCII.
      @Override
      public void print(String s) {
        byte[] bytes = encode(String.valueOf(s));
        write(bytes, 0, bytes.length);
      }

      @Override
      public void print(char[] s) {
        print(new String(s));
      }

      @Override
      public void print(char c) {
        print(String.valueOf(c));
      }

      @Override
      public void print(Object o) {
        print(String.valueOf(o));
      }
    };
  }

  private static byte[] encode(String s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(s.length() + 8);
    try (Writer w = SurrogateEscape.writer(b)) {
      w.write(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return b.toByteArray();
  }
}
