package io.blockkit.verify.fuzz;

import static io.blockkit.verify.fuzz.FuzzContract.attempt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CheckReport;
import io.blockkit.api.CheckMode;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.OptionStrings;
import io.blockkit.api.options.Options;
import io.blockkit.api.options.Sizes;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import io.blockkit.verify.fuzz.FuzzContract.Outcome;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fuzzes the option-string parser ({@link OptionStrings}), typed options ({@link Options}) and
 * sizes ({@link Sizes}) with arbitrary text (the input's bytes as UTF-8), and creates a vdi image
 * with whatever options parse.
 *
 * <p>Asserts, besides {@link FuzzContract}: bad text fails only with {@link
 * InvalidOptionException}; {@code split(join(split(t)))} is {@code split(t)}; typed options parse
 * the joined form alike and survive {@link Options#with}; {@link Sizes#parse} agrees with a
 * small independent model of qemu's size syntax; and a vdi image created with options that parse
 * is either refused with InvalidOptionException or opens, checks clean and has the size, block
 * size, UUID and comment it was asked for.
 */
class OptionsFuzzTest {
  /** Size syntax as the README documents it: digits, an optional fraction, an optional suffix. */
  private static final Pattern SIZE = Pattern.compile("([0-9]+)(?:\\.([0-9]+))?([bkmgtpeBKMGTPE])?");
  private static final String SUFFIXES = "bkmgtpe";
  /** Created images stay small: the map is written whole, preallocation writes every byte. */
  private static final long MAX_CREATE_SIZE = 64L << 30;
  private static final long MAX_FULL_PREALLOCATION = 16L << 20;

  /** One spec of every type, so every conversion is reached. */
  private static final List<OptionSpec> ALL_TYPES = List.of(
      OptionSpec.size("size", null, "a size"),
      OptionSpec.bool("flag", false, "a boolean"),
      OptionSpec.integer("count", "0", "an integer"),
      OptionSpec.string("name", "", "a string"),
      OptionSpec.choice("mode", "a", "a choice", "a", "b", "c,d"),
      OptionSpec.uuid("uuid", "a uuid"));

  @FuzzTest(maxDuration = "10m")
  void optionStrings(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    FuzzContract.run(input, (64L << 20) + 1024L * input.length, () -> exercise(text));
  }

  private static void exercise(String text) throws IOException {
    Outcome<Map<String, String>> split = expectInvalidOption(() -> OptionStrings.split(text));
    if (split.ok()) {
      Map<String, String> map = split.value();
      map.keySet().forEach(k -> assertFalse(k.isEmpty(), "empty key from " + text));
      String joined = OptionStrings.join(map);
      assertEquals(new ArrayList<>(map.entrySet()),
          new ArrayList<>(OptionStrings.split(joined).entrySet()),
          () -> "split(join(split(t))) for t = " + text + ", joined = " + joined);
    }
    List<List<OptionSpec>> specLists = new ArrayList<>();
    specLists.add(ALL_TYPES);
    for (BlockDriver d : Images.registry().drivers()) {
      specLists.add(d.createOptions());
      specLists.add(d.openOptions());
    }
    for (List<OptionSpec> specs : specLists) {
      Outcome<Options> parsed = expectInvalidOption(() -> Options.parse(text, specs));
      if (!parsed.ok()) {
        continue;
      }
      assertTrue(split.ok(), "typed options parsed text that does not split");
      Options o = parsed.value();
      Options rejoined = Options.parse(OptionStrings.join(split.value()), specs);
      for (OptionSpec spec : specs) {
        assertEquals(o.get(spec.name()), rejoined.get(spec.name()), "joined form");
      }
      for (Map.Entry<String, String> e : split.value().entrySet()) {
        assertTrue(o.isSet(e.getKey()), e.getKey() + " given but not set");
        Options again = o.with(e.getKey(), e.getValue());
        for (OptionSpec spec : specs) {
          assertEquals(o.get(spec.name()), again.get(spec.name()), "with(" + e + ")");
        }
      }
    }
    sizes(text);
    createVdi(split);
  }

  private static void sizes(String text) throws IOException {
    Outcome<Long> parsed = expectInvalidOption(() -> Sizes.parse(text, "fuzzed size"));
    Optional<Long> model = sizeModel(text);
    assertEquals(model, Optional.ofNullable(parsed.value()), () -> "Sizes.parse(\"" + text
        + "\"): " + (parsed.ok() ? parsed.value() : parsed.failure().getMessage()));
    if (parsed.ok()) {
      long v = parsed.value();
      assertEquals(v, Sizes.parse(Long.toString(v), "decimal"), "decimal round trip");
      assertFalse(Sizes.toHuman(v).isEmpty());
    }
  }

  /**
   * The size a text denotes, computed without {@link Sizes}: digits with an optional fraction and
   * suffix (powers of 1024), whole bytes only, at most Long.MAX_VALUE; surrounding whitespace
   * (as {@link String#trim}) ignored.
   */
  static Optional<Long> sizeModel(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      return Optional.empty();
    }
    int shift = m.group(3) == null ? 0
        : 10 * SUFFIXES.indexOf(Character.toLowerCase(m.group(3).charAt(0)));
    String fraction = m.group(2) == null ? "" : m.group(2);
    // value = (int.fraction) * 2^shift = intfraction * 2^shift / 10^len(fraction)
    BigInteger numerator = new BigInteger(m.group(1) + fraction).shiftLeft(shift);
    BigInteger[] qr = numerator.divideAndRemainder(BigInteger.TEN.pow(fraction.length()));
    if (qr[1].signum() != 0 || qr[0].bitLength() > 63) {
      return Optional.empty();
    }
    return Optional.of(qr[0].longValueExact());
  }

  /** Creates a vdi image with the options, when they are small enough to create in memory. */
  private static void createVdi(Outcome<Map<String, String>> split) throws IOException {
    if (!split.ok()) {
      return;
    }
    Map<String, String> options = new LinkedHashMap<>(split.value());
    options.putIfAbsent("size", "1M");
    Outcome<Options> typed = attempt(() -> Options.of(options,
        Images.registry().driver("vdi").createOptions()));
    if (!typed.ok()) {
      return;
    }
    Options o = typed.value();
    long size = o.size("size");
    boolean full = o.string("preallocation").equals("full");
    if (size > MAX_CREATE_SIZE || full && size > MAX_FULL_PREALLOCATION) {
      return;
    }
    String location = MemoryFiles.put("fuzz-create", new byte[0]);
    try {
      Outcome<Void> created = expectInvalidOption(() -> {
        Images.create(location, "vdi", options);
        return null;
      });
      if (!created.ok()) {
        return;
      }
      try (BlockDevice d = Images.open(location, "vdi", true)) {
        ImageInfo info = d.info();
        assertEquals((size + 511) & -512L, info.virtualSize(), "created size");
        assertEquals(o.size("block_size"), info.clusterSize(), "created block size");
        assertEquals(o.string("comment"), info.formatSpecific().get("comment"), "comment");
        o.uuid("uuid").ifPresent(u ->
            assertEquals(u.toString(), info.formatSpecific().get("image-uuid"), "uuid"));
        CheckReport report = d.check(CheckMode.REPORT);
        assertTrue(report.isClean(), () -> "check of a created image: " + report);
      }
    } finally {
      MemoryFiles.delete(location);
    }
  }

  /** Runs {@code op}; its only allowed failure is InvalidOptionException. */
  private static <T> Outcome<T> expectInvalidOption(FuzzContract.Operation<T> op) {
    Outcome<T> r = attempt(op);
    if (!r.ok()) {
      assertInstanceOf(InvalidOptionException.class, r.failure(), "error for bad options");
    }
    return r;
  }
}
