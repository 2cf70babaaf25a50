package io.blockkit.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class SurrogateEscapeTest {
  /** Expected strings from Python 3's bytes.decode('utf-8', 'surrogateescape'). */
  @Test
  void decodesLikePython() {
    assertEquals("\udcff", decode(0xff));
    assertEquals("\udced\udca0\udc80", decode(0xed, 0xa0, 0x80)); // an encoded surrogate
    assertEquals("\u00fc", decode(0xc3, 0xbc));
    assertEquals("\udce2\udc82A", decode(0xe2, 0x82, 'A')); // truncated sequence
    assertEquals("\udcf4\udc90\udc80\udc80", decode(0xf4, 0x90, 0x80, 0x80)); // above U+10FFFF
    assertEquals("\udcc0\udcaf", decode(0xc0, 0xaf)); // overlong
    assertEquals("\udce0\udc80\udcaf", decode(0xe0, 0x80, 0xaf)); // overlong
    assertEquals("\ud83d\ude00", decode(0xf0, 0x9f, 0x98, 0x80));
    assertEquals("a\udc80b", decode('a', 0x80, 'b'));
    assertEquals("\udcc3", decode(0xc3));
  }

  private static String decode(int... bytes) {
    byte[] b = new byte[bytes.length];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) bytes[i];
    }
    return SurrogateEscape.decode(b);
  }

  @Provide
  Arbitrary<byte[]> names() {
    // mostly UTF-8-looking bytes, so valid and broken sequences both occur often
    Arbitrary<Byte> b = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, Arbitraries.bytes().between((byte) 0x20, (byte) 0x7e)),
        net.jqwik.api.Tuple.of(4, Arbitraries.bytes().between((byte) 0x80, (byte) 0xbf)),
        net.jqwik.api.Tuple.of(3, Arbitraries.bytes().between((byte) 0xc0, (byte) 0xff)));
    return b.array(byte[].class).ofMaxSize(24);
  }

  @Property
  void everyByteStringSurvivesTheRoundTrip(@ForAll("names") byte[] name) {
    assertArrayEquals(name, SurrogateEscape.encode(SurrogateEscape.decode(name)));
  }

  @Property
  void validUtf8DecodesAsTheJdkDoes(@ForAll("names") byte[] name) {
    String strict;
    try {
      strict = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(name))
          .toString();
    } catch (CharacterCodingException e) {
      return; // invalid: covered by the round trip
    }
    assertEquals(strict, SurrogateEscape.decode(name));
  }

  @Property
  void stringsWithoutSurrogatesEncodeAsUtf8(@ForAll String s) {
    net.jqwik.api.Assume.that(s.chars().noneMatch(c -> Character.isSurrogate((char) c)));
    assertArrayEquals(s.getBytes(StandardCharsets.UTF_8), SurrogateEscape.encode(s));
    assertEquals(s, SurrogateEscape.decode(s.getBytes(StandardCharsets.UTF_8)));
  }

  @Property
  void theWriterWritesWhatEncodeGivesInAnyChunks(@ForAll("names") byte[] name,
      @ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 5) int chunk) throws IOException {
    String s = "x" + SurrogateEscape.decode(name) + "\ud83d\ude00";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Writer w = SurrogateEscape.writer(out)) {
      for (int i = 0; i < s.length(); i += chunk) {
        w.write(s, i, Math.min(chunk, s.length() - i));
      }
    }
    assertArrayEquals(SurrogateEscape.encode(s), out.toByteArray());
  }

  @Test
  void surrogatesThatEscapeNoByteAreRefusedOrPrintedAsQuestionMarks() throws IOException {
    for (String bad : new String[] {"a\ud800", "\udc41", "\ude00x", "\ud83d"}) {
      assertThrows(IllegalArgumentException.class, () -> SurrogateEscape.encode(bad), bad);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Writer w = SurrogateEscape.writer(out)) {
      w.write("a\ud800b\udc41c\ud83d");
    }
    assertEquals("a?b?c?", out.toString(StandardCharsets.US_ASCII));
  }
}
