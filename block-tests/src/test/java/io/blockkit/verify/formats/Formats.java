package io.blockkit.verify.formats;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Every {@link FormatUnderTest} on the test class path, found with {@link ServiceLoader} (one line
 * per format in {@code META-INF/services/io.blockkit.verify.formats.FormatUnderTest}), sorted by
 * name.
 */
public final class Formats {
  private static List<FormatUnderTest> all;

  private Formats() {}

  public static synchronized List<FormatUnderTest> all() {
    if (all == null) {
      List<FormatUnderTest> found = new ArrayList<>();
      ServiceLoader.load(FormatUnderTest.class).forEach(found::add);
      found.sort(Comparator.comparing(FormatUnderTest::name));
      for (int i = 1; i < found.size(); i++) {
        if (found.get(i).name().equals(found.get(i - 1).name())) {
          throw new IllegalStateException("two descriptors for format " + found.get(i).name());
        }
      }
      if (found.isEmpty()) {
        throw new IllegalStateException("no FormatUnderTest in META-INF/services");
      }
      all = List.copyOf(found);
    }
    return all;
  }

  public static FormatUnderTest named(String name) {
    return all().stream().filter(f -> f.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no FormatUnderTest named " + name));
  }
}
