package io.blockkit.api;

import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.util.Arrays;

/**
 * Host names (file names, command-line arguments) are bytes; Java strings are UTF-16. This is the
 * one reversible mapping between them used across blockkit, Python's "surrogateescape": bytes
 * decode as UTF-8, and each byte of an invalid sequence becomes the lone surrogate {@code U+DC00 +
 * byte} (U+DC80..U+DCFF, as only bytes 0x80..0xFF can be invalid). Encoding reverses it, so every
 * byte string survives a round trip exactly, whatever the locale:
 * {@code encode(decode(b))} equals {@code b} for every {@code b}.
 *
 * <p>A string that no byte string decodes to (an unpaired surrogate outside U+DC80..U+DCFF)
 * cannot be encoded exactly: {@link #encode} refuses it, {@link #writer} prints '?' for it.
 */
public final class SurrogateEscape {
  private static final int ESCAPE = 0xDC00;

  private SurrogateEscape() {}

  /** The string for {@code bytes}: UTF-8, with each undecodable byte as U+DC00 + byte. */
  public static String decode(byte[] bytes) {
    StringBuilder sb = new StringBuilder(bytes.length);
    int i = 0;
    while (i < bytes.length) {
      int n = validSequence(bytes, i);
      if (n == 0) {
        sb.append((char) (ESCAPE + (bytes[i] & 0xFF)));
        i++;
      } else {
        sb.appendCodePoint(codePoint(bytes, i, n));
        i += n;
      }
    }
    return sb.toString();
  }

  /**
   * The bytes {@code s} stands for: UTF-8, with U+DC80..U+DCFF back as the bytes they escape.
   *
   * @throws IllegalArgumentException if {@code s} holds a lone surrogate that escapes no byte
   */
  public static byte[] encode(String s) {
    byte[] out = new byte[s.length() * 3];
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      int escaped = escapedByte(c);
      if (escaped >= 0) {
        out[n++] = (byte) escaped;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n = putUtf8(out, n, Character.toCodePoint(c, s.charAt(++i)));
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(String.format(
            "unpaired surrogate U+%04X at index %d stands for no byte", (int) c, i));
      } else {
        n = putUtf8(out, n, c);
      }
    }
    return Arrays.copyOf(out, n);
  }

  /**
   * A writer that puts what it is given to {@code out} as the bytes {@link #encode} gives (so names
   * decoded from the command line print as the exact bytes given), '?' for what no byte stands
   * for. Not thread-safe on its own: wrap it in a {@link java.io.PrintWriter}, which locks.
   */
  public static Writer writer(OutputStream out) {
    return new EscapingWriter(out);
  }

  /** The byte {@code c} escapes, or -1 when it is not an escape. */
  private static int escapedByte(char c) {
    return c >= ESCAPE + 0x80 && c <= ESCAPE + 0xFF ? c - ESCAPE : -1;
  }

  /** The length of the well-formed UTF-8 sequence at {@code i}, or 0 if it is not one. */
  private static int validSequence(byte[] b, int i) {
    int b0 = b[i] & 0xFF;
    if (b0 < 0x80) {
      return 1;
    }
    int n;
    int lo = 0x80;
    int hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      lo = b0 == 0xE0 ? 0xA0 : 0x80; // no overlong forms
      hi = b0 == 0xED ? 0x9F : 0xBF; // no encoded surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      lo = b0 == 0xF0 ? 0x90 : 0x80;
      hi = b0 == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
    } else {
      return 0;
    }
    if (i + n > b.length) {
      return 0;
    }
    int b1 = b[i + 1] & 0xFF;
    if (b1 < lo || b1 > hi) {
      return 0;
    }
    for (int k = 2; k < n; k++) {
      if ((b[i + k] & 0xC0) != 0x80) {
        return 0;
      }
    }
    return n;
  }

  private static int codePoint(byte[] b, int i, int n) {
    if (n == 1) {
      return b[i];
    }
    int cp = b[i] & (0xFF >> (n + 1));
    for (int k = 1; k < n; k++) {
      cp = (cp << 6) | (b[i + k] & 0x3F);
    }
    return cp;
  }

  private static int putUtf8(byte[] out, int n, int cp) {
    if (cp < 0x80) {
      out[n++] = (byte) cp;
    } else if (cp < 0x800) {
      out[n++] = (byte) (0xC0 | cp >> 6);
      out[n++] = (byte) (0x80 | cp & 0x3F);
    } else if (cp < 0x10000) {
      out[n++] = (byte) (0xE0 | cp >> 12);
      out[n++] = (byte) (0x80 | cp >> 6 & 0x3F);
      out[n++] = (byte) (0x80 | cp & 0x3F);
    } else {
      out[n++] = (byte) (0xF0 | cp >> 18);
      out[n++] = (byte) (0x80 | cp >> 12 & 0x3F);
      out[n++] = (byte) (0x80 | cp >> 6 & 0x3F);
      out[n++] = (byte) (0x80 | cp & 0x3F);
    }
    return n;
  }

  /** {@link #writer}: encodes each write, keeping a high surrogate for the next one. */
  private static final class EscapingWriter extends Writer {
    private final OutputStream out;
    private char pendingHigh;

    EscapingWriter(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(char[] cbuf, int off, int len) throws IOException {
      byte[] buf = new byte[(len + 1) * 4];
      int n = 0;
      for (int i = off; i < off + len; i++) {
        char c = cbuf[i];
        if (pendingHigh != 0) {
          char high = pendingHigh;
          pendingHigh = 0;
          if (Character.isLowSurrogate(c)) {
            n = putUtf8(buf, n, Character.toCodePoint(high, c));
            continue;
          }
          buf[n++] = '?';
        }
        int escaped = escapedByte(c);
        if (escaped >= 0) {
          buf[n++] = (byte) escaped;
        } else if (Character.isHighSurrogate(c)) {
          pendingHigh = c;
        } else if (Character.isSurrogate(c)) {
          buf[n++] = '?';
        } else {
          n = putUtf8(buf, n, c);
        }
      }
      out.write(buf, 0, n);
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }

    @Override
    public void close() throws IOException {
      if (pendingHigh != 0) {
        pendingHigh = 0;
        out.write('?');
      }
      out.close();
    }
  }
}
