package io.blockkit.verify.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/** Fuzzes the qcow2 driver with mutated qcow2 images: {@link ImageFuzz} for the qcow2 format. */
class Qcow2FuzzTest {
  @FuzzTest(maxDuration = "10m")
  void qcow2Image(byte[] input) {
    ImageFuzz.run("qcow2", input);
  }
}
