package com.example.pattern;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.OpenRequest;
import io.blockkit.testkit.BlockDriverConformanceTest;
import java.io.IOException;

/** The README's plugin example, kept compiling and passing. */
class PatternConformanceTest extends BlockDriverConformanceTest {
  @Override protected BlockDriver driver() { return new PatternDriver(); }
  @Override protected BlockDevice create(long size) throws IOException {
    return driver().open(OpenRequest.of(Long.toString(size), null, true));
  }
  @Override protected boolean freshImagesReadZero() { return false; }
}
