package io.blockkit.verify.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/** Fuzzes the vpc driver with mutated VHD images: {@link ImageFuzz} for the vpc format. */
class VpcFuzzTest {
  @FuzzTest(maxDuration = "10m")
  void vpcImage(byte[] input) {
    ImageFuzz.run("vpc", input);
  }
}
