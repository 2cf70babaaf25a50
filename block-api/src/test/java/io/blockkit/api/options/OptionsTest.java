package io.blockkit.api.options;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.error.InvalidOptionException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OptionsTest {
  private static final List<OptionSpec> SPECS = List.of(
      OptionSpec.size("size", null, "virtual size"),
      OptionSpec.size("block_size", "1M", "block size"),
      OptionSpec.bool("static", false, "preallocate"),
      OptionSpec.integer("count", "7", "a number"),
      OptionSpec.string("label", "none", "free text"),
      OptionSpec.choice("preallocation", "off", "mode", "off", "metadata", "full"),
      OptionSpec.uuid("uuid", "image uuid"));

  @Test
  void typedValuesFromText() throws Exception {
    UUID u = UUID.fromString("c92b558e-eba5-43e8-a8b3-984f946db1b2");
    Options o = Options.parse("size=64M,static=on,count=-3,label=a,,b,preallocation=full,uuid="
        + u, SPECS);
    assertEquals(67108864L, o.size("size"));
    assertTrue(o.bool("static"));
    assertEquals(-3L, o.integer("count"));
    assertEquals("a,b", o.string("label"));
    assertEquals("full", o.string("preallocation"));
    assertEquals(Optional.of(u), o.uuid("uuid"));
  }

  @Test
  void defaultsApplyAndAreNotExplicit() throws Exception {
    Options o = Options.parse("", SPECS);
    assertEquals(1048576L, o.size("block_size"));
    assertFalse(o.bool("static"));
    assertEquals(7L, o.integer("count"));
    assertEquals("off", o.string("preallocation"));
    assertFalse(o.isSet("block_size"));
    assertTrue(o.has("block_size"));
    assertFalse(o.has("size"));
    assertEquals(Optional.empty(), o.uuid("uuid"));
    assertEquals(Optional.empty(), o.get("size"));
    assertThrows(IllegalStateException.class, () -> o.size("size"));
  }

  @Test
  void explicitValueIsSetEvenWhenEqualToDefault() throws Exception {
    Options o = Options.parse("static=off", SPECS);
    assertTrue(o.isSet("static"));
    assertFalse(o.isSet("count"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"on", "off", "true", "false", "ON", "Off"})
  void booleansAcceptOnOffTrueFalse(String v) throws Exception {
    boolean expected = v.equalsIgnoreCase("on") || v.equalsIgnoreCase("true");
    assertEquals(expected, Options.parse("static=" + v, SPECS).bool("static"));
  }

  @Test
  void bareKeyTurnsBooleanOn() throws Exception {
    assertTrue(Options.parse("static", SPECS).bool("static"));
  }

  @Test
  void unknownKeyNamesItAndListsValidOnes() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> Options.parse("size=1M,blocksize=2M", SPECS));
    String m = e.getMessage();
    assertTrue(m.contains("'blocksize'"), m);
    for (OptionSpec s : SPECS) {
      assertTrue(m.contains(s.name()), () -> m + " lacks " + s.name());
    }
  }

  @Test
  void unknownKeyForDriverWithoutOptionsSaysSo() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> Options.of(Map.of("x", "1"), List.of()));
    assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains("no options"),
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"static=maybe", "static=1", "static=", "count=12x", "count=1.5", "count=",
      "count=99999999999999999999", "preallocation=falloc", "preallocation=OFF",
      "uuid=not-a-uuid", "uuid=1-2-3-4-5", "uuid=c92b558e-eba5-43e8-a8b3-984f946db1b", "size=big",
      "block_size=-1"})
  void badValuesNameTheKeyAndTheValue(String pair) {
    String key = pair.substring(0, pair.indexOf('='));
    String value = pair.substring(pair.indexOf('=') + 1);
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> Options.parse(pair, SPECS));
    assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
  }

  @Test
  void badEnumListsTheChoices() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> Options.parse("preallocation=falloc", SPECS));
    assertTrue(e.getMessage().contains("off, metadata, full"), e.getMessage());
  }

  @Test
  void withReplacesOneValueAndKeepsTheOthers() throws Exception {
    Options o = Options.parse("size=1M,static=on,uuid=c92b558e-eba5-43e8-a8b3-984f946db1b2", SPECS);
    Options p = o.with("size", "2M");
    assertEquals(2097152L, p.size("size"));
    assertTrue(p.bool("static"));
    assertEquals(o.uuid("uuid"), p.uuid("uuid"));
    assertEquals(1048576L, o.size("size"));
    assertThrows(InvalidOptionException.class, () -> o.with("nope", "1"));
  }

  @Test
  void accessorOfWrongTypeIsAProgrammingError() throws Exception {
    Options o = Options.parse("size=1M", SPECS);
    assertThrows(IllegalArgumentException.class, () -> o.bool("size"));
    assertThrows(IllegalArgumentException.class, () -> o.size("nosuch"));
  }

  @Test
  void enumSpecNeedsChoices() {
    assertThrows(IllegalArgumentException.class,
        () -> new OptionSpec("x", OptionType.ENUM, null, "h", List.of()));
  }

  @Test
  void invalidDefaultIsReportedAtParseTime() {
    List<OptionSpec> bad = List.of(OptionSpec.size("size", "lots", "broken default"));
    assertThrows(InvalidOptionException.class, () -> Options.parse("", bad));
  }

  @Property
  void integersRoundTrip(@ForAll long n) throws Exception {
    assertEquals(n, Options.parse("count=" + n, SPECS).integer("count"));
  }

  @Property
  void sizesRoundTripThroughWith(@ForAll @LongRange(min = 0) long n) throws Exception {
    Options o = Options.parse("size=" + n, SPECS).with("count", "1");
    assertEquals(n, o.size("size"));
  }
}
