package io.blockkit.verify.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/** Fuzzes the vhdx driver with mutated (folded) VHDX images: {@link ImageFuzz} for vhdx. */
class VhdxFuzzTest {
  @FuzzTest(maxDuration = "10m")
  void vhdxImage(byte[] input) {
    ImageFuzz.run("vhdx", input);
  }
}
