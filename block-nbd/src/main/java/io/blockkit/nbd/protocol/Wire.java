package io.blockkit.nbd.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Encoding helpers shared by the client and the server: option framing and strings. */
public final class Wire {
  private Wire() {}

  /**
   * Sends an option request: IHAVEOPT, the option, its length, its data.
   *
   * @throws IOException when the connection fails
   */
  public static void sendOption(Transport t, int option, ByteBuffer data) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(16);
    h.putLong(Nbd.OPTS_MAGIC).putInt(option).putInt(data.remaining()).flip();
    t.write(h, data);
  }

  /**
   * Sends an option reply: the reply magic, the option echoed, the type, the length, the data.
   *
   * @throws IOException when the connection fails
   */
  public static void sendOptionReply(Transport t, int option, int type, ByteBuffer data)
      throws IOException {
    ByteBuffer h = ByteBuffer.allocate(20);
    h.putLong(Nbd.REPLY_MAGIC).putInt(option).putInt(type).putInt(data.remaining()).flip();
    t.write(h, data);
  }

  /** The UTF-8 bytes of {@code s}. */
  public static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** {@code n} bytes of {@code b} as text (invalid UTF-8 replaced), for names and messages. */
  public static String string(ByteBuffer b, int n) {
    byte[] bytes = new byte[n];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /**
   * A buffer of {@code n} bytes read from {@code t}, flipped for reading.
   *
   * @throws java.io.EOFException when the peer closed the connection first
   * @throws IOException when the connection fails
   */
  public static ByteBuffer read(Transport t, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    t.readFully(b);
    return b.flip();
  }

  /** Text for messages: control characters escaped, at most 200 characters. */
  public static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && out.length() < 200; i++) {
      char c = s.charAt(i);
      out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return out.length() < s.length() ? out + "..." : out.toString();
  }
}
