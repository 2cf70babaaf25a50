package io.blockkit.api.options;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.error.InvalidOptionException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OptionStringsTest {

  @Test
  void splitsPairsInOrder() throws Exception {
    Map<String, String> m = OptionStrings.split("size=64M,static=on,file.filename=x.vdi");
    assertEquals(List.of("size", "static", "file.filename"), List.copyOf(m.keySet()));
    assertEquals("64M", m.get("size"));
    assertEquals("x.vdi", m.get("file.filename"));
  }

  @Test
  void doubledCommaIsALiteralComma() throws Exception {
    assertEquals(Map.of("filename", "a,b", "x", "1"), OptionStrings.split("filename=a,,b,x=1"));
    assertEquals(Map.of("filename", "a,"), OptionStrings.split("filename=a,,"));
    assertEquals(Map.of("filename", ",a"), OptionStrings.split("filename=,,a"));
    assertEquals(Map.of("f", "a,", "g", "2"), OptionStrings.split("f=a,,,g=2"));
    assertEquals(Map.of("f", "a,,b"), OptionStrings.split("f=a,,,,b"));
  }

  @Test
  void bareKeyMeansOn() throws Exception {
    assertEquals(Map.of("static", "on", "size", "1M"), OptionStrings.split("static,size=1M"));
  }

  @Test
  void valueMayContainEqualsAndBeEmpty() throws Exception {
    assertEquals(Map.of("a", "b=c", "d", ""), OptionStrings.split("a=b=c,d="));
  }

  @Test
  void nullAndEmptyAreNoOptions() throws Exception {
    assertTrue(OptionStrings.split(null).isEmpty());
    assertTrue(OptionStrings.split("").isEmpty());
  }

  @Test
  void duplicateKeyIsAnErrorNamingIt() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> OptionStrings.split("size=1M,static=on,size=2M"));
    assertTrue(e.getMessage().contains("'size'"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {",", "a=1,", ",a=1", "a=1,,,", "=1", "a=1,=2"})
  void emptyPairsAndMissingKeysAreErrors(String text) {
    assertThrows(InvalidOptionException.class, () -> OptionStrings.split(text));
  }

  @Test
  void joinDoublesCommas() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("filename", "a,b");
    m.put("size", "1M");
    assertEquals("filename=a,,b,size=1M", OptionStrings.join(m));
  }

  /** Found by fuzzing: a key written with ,, split back into two options after a join. */
  @Test
  void joinDoublesCommasInKeysToo() throws Exception {
    Map<String, String> m = OptionStrings.split("{iz,,b1.5M,com=on");
    assertEquals(List.of("{iz,b1.5M", "com"), List.copyOf(m.keySet()));
    assertEquals("{iz,,b1.5M=on,com=on", OptionStrings.join(m));
    assertEquals(m, OptionStrings.split(OptionStrings.join(m)));
  }

  @Property
  void splitInvertsJoin(@ForAll("optionMaps") Map<String, String> options) throws Exception {
    Map<String, String> back = OptionStrings.split(OptionStrings.join(options));
    assertEquals(options, back);
    assertEquals(List.copyOf(options.keySet()), List.copyOf(back.keySet()));
  }

  @Provide
  Arbitrary<Map<String, String>> optionMaps() {
    Arbitrary<String> keys = Arbitraries.strings().withCharRange('a', 'z').withChars('.', '-', '_', ',')
        .ofMinLength(1).ofMaxLength(12).filter(k -> Character.isLetter(k.charAt(0)));
    Arbitrary<String> values = Arbitraries.strings().withChars(",=.:/ -_aZ09\\\"'")
        .withCharRange('a', 'f').ofMaxLength(16);
    return Arbitraries.maps(keys, values).ofMaxSize(6).map(LinkedHashMap::new);
  }
}
