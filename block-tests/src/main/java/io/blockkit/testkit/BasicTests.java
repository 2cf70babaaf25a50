package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Capabilities, sizes, zero-length requests, close, flush and check of fresh images. */
abstract class BasicTests extends DeviceGroup {
  BasicTests(BlockDriverConformanceTest subject) {
    super(subject);
  }

  @Test
  public void capabilitiesAreAsExpected() throws IOException {
    Optional<Set<Capability>> expected = subject.expectedCapabilities();
    assumeTrue(expected.isPresent(), "no expected capabilities given");
    BlockDevice d = fresh();
    assertEquals(expected.get(), d.capabilities());
    assertFalse(d.isReadOnly());
    assertEquals(subject.driver().name(), d.driver().name());
  }

  @Test
  public void sizesAreHonoured() throws IOException {
    for (long size : subject.sizesToTest()) {
      BlockDevice d = fresh(size);
      ImageInfo info = d.info();
      assertEquals(d.size(), info.virtualSize(), "info().virtualSize() for size " + size);
      assertEquals(subject.driver().name(), info.format(), "info().format()");
      assertEquals(d.location(), info.filename(), "info().filename()");
      if (subject.freshImagesReadZero() && d.size() > 0) {
        for (long p : new long[] {0, d.size() / 2, d.size() - 1}) {
          assertEquals(0, readAll(d, p, 1)[0], "fresh image byte at " + p);
        }
      }
    }
  }

  @Test
  public void zeroLengthRequestsDoNothing() throws IOException {
    BlockDevice d = fresh();
    long size = d.size();
    d.read(0, ByteBuffer.allocate(0));
    d.read(size, ByteBuffer.allocate(0));
    if (d.capabilities().contains(Capability.WRITE)) {
      byte[] before = snapshot(d);
      d.write(0, ByteBuffer.allocate(0));
      d.write(size, ByteBuffer.allocate(0));
      d.writeZeroes(size / 2, 0);
      d.discard(size / 2, 0);
      assertEquals(size, d.size());
      assertImageEquals(before, d, "after zero-length requests");
    }
  }

  @Test
  public void closeIsIdempotentAndUseAfterCloseFailsCleanly() throws IOException {
    assertCloseIsFinal(subject.create(subject.defaultSize()));
  }

  @Test
  public void freshImageChecksClean() throws IOException {
    BlockDevice d = fresh();
    requireCapability(d, Capability.CHECK);
    CheckReport r = d.check(CheckMode.REPORT);
    assertTrue(r.isClean(), "fresh image does not check clean: " + r.messages());
  }

  @Test
  public void flushSucceeds() throws IOException {
    BlockDevice d = fresh();
    requireWritable(d);
    writeAll(d, 0, randomBytes(100));
    d.flush();
    d.flush();
  }
}
