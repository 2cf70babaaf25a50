package io.blockkit.verify.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzes the vmdk driver with mutated sparse extents (hosted sparse and stream-optimized headers,
 * grain directories and tables, markers, embedded descriptors) and text descriptors: {@link
 * ImageFuzz} for the vmdk format.
 */
class VmdkFuzzTest {
  @FuzzTest(maxDuration = "10m")
  void vmdkImage(byte[] input) {
    ImageFuzz.run("vmdk", input);
  }
}
