package io.blockkit.verify.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/** Fuzzes the vdi driver with mutated VDI images: {@link ImageFuzz} for the vdi format. */
class VdiFuzzTest {
  @FuzzTest(maxDuration = "10m")
  void vdiImage(byte[] input) {
    ImageFuzz.run("vdi", input);
  }
}
