package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import java.io.IOException;

/**
 * A group of {@link BlockDriverConformanceTest}'s tests: it reaches the driver test's hooks
 * through {@link #subject} and keeps its own seed and devices.
 */
abstract class DeviceGroup extends KitSupport {
  /** The driver test whose hooks make and reopen the devices. */
  final BlockDriverConformanceTest subject;

  DeviceGroup(BlockDriverConformanceTest subject) {
    this.subject = subject;
  }

  @Override
  protected String subjectName() {
    return subject.subjectName();
  }

  /** {@link BlockDriverConformanceTest#create(long)}, closed automatically after the test. */
  final BlockDevice fresh(long size) throws IOException {
    BlockDevice d = closeAfterTest(subject.create(size));
    assertTrue(d.size() >= size, "created image of " + d.size() + " bytes, asked for " + size);
    return d;
  }

  /** A fresh image of the default size. */
  final BlockDevice fresh() throws IOException {
    return fresh(subject.defaultSize());
  }

  /** Closes {@code d} and {@link BlockDriverConformanceTest#reopen}s it. */
  final BlockDevice closeAndReopen(BlockDevice d, boolean readOnly) throws IOException {
    d.close();
    return closeAfterTest(subject.reopen(d, readOnly));
  }

  final int block() {
    return subject.naturalBlockSize();
  }

  /** The image's bytes as the starting model; zeros checked when fresh images must read zero. */
  final byte[] initialModel(BlockDevice d) throws IOException {
    byte[] model = snapshot(d);
    if (subject.freshImagesReadZero()) {
      for (int i = 0; i < model.length; i++) {
        if (model[i] != 0) {
          fail("fresh image is not zero at offset " + i);
        }
      }
    }
    return model;
  }

  static void requireWritable(BlockDevice d) {
    assumeTrue(d.capabilities().contains(Capability.WRITE), "image is not writable");
  }

  static void requireCapability(BlockDevice d, Capability c) {
    assumeTrue(d.capabilities().contains(c), "device does not claim " + c);
  }
}
