package com.example.pattern;

import io.blockkit.api.BlockDriver;
import io.blockkit.testkit.FixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;

/** The README's plugin example, kept compiling and passing. */
class PatternConformanceTest extends FixtureConformanceTest {
  @Override protected BlockDriver driver() { return new PatternDriver(); }

  // What pattern:1M must read as: the disk's definition, written out.
  @Override protected ImageFixture fixture() {
    byte[] content = new byte[1 << 20];
    for (int i = 0; i < content.length; i++) {
      content[i] = (byte) (i % 251);
    }
    return ImageFixture.ofContent("1M", content);
  }

  // A protocol places its fixture itself; this one needs nothing but the size in the name.
  @Override protected String place(ImageFixture fixture) {
    return "pattern:" + fixture.image();
  }
}
