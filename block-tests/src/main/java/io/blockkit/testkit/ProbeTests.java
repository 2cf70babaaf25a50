package io.blockkit.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.ProbeInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The driver claims its own images exactly and no other bytes. */
abstract class ProbeTests extends DeviceGroup {
  ProbeTests(BlockDriverConformanceTest subject) {
    super(subject);
  }

  @Test
  public void probeClaimsOwnImages() throws IOException {
    Optional<ProbeInput> own = subject.ownImageProbe();
    assumeTrue(own.isPresent(), "no own image to probe");
    assertEquals(BlockDriver.PROBE_EXACT, subject.driver().probe(own.get()),
        "probe of own image");
  }

  @Test
  public void probeRejectsOtherBytes() throws IOException {
    List<ProbeInput> inputs = new ArrayList<>(subject.foreignImageProbes());
    for (int n : new int[] {0, 1, 511, 512, BlockDriver.PROBE_SIZE}) {
      inputs.add(new ProbeInput(ByteBuffer.wrap(randomBytes(n)), n, "random.img"));
      inputs.add(new ProbeInput(ByteBuffer.allocate(n), n, "zeros.img"));
    }
    Optional<ProbeInput> own = subject.ownImageProbe();
    if (own.isPresent()) {
      // a truncated copy of its own header must not be claimed either
      ByteBuffer head = own.get().head().duplicate();
      for (int n : new int[] {0, 1, 63, 511}) {
        if (n < head.limit()) {
          ByteBuffer part = ByteBuffer.allocate(n);
          part.put(head.duplicate().limit(n)).flip();
          inputs.add(new ProbeInput(part, n, "truncated.img"));
        }
      }
    }
    BlockDriver driver = subject.driver();
    for (ProbeInput in : inputs) {
      int score = driver.probe(in);
      assertEquals(subject.foreignProbeScore(), score, driver.name() + "'s probe of "
          + in.fileName() + " (" + in.available() + " bytes)" + seedNote());
      assertEquals(0, in.head().position(), "probe moved the buffer's position");
    }
  }
}
