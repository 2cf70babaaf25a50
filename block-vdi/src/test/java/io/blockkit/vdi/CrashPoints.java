package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Power loss at every step of one operation: the operation runs once over a {@link MemDevice}
 * that logs every change, then each prefix of the log (what an in-order crash after that many
 * writes leaves) is opened as an image, which must check without corruption, read as before or
 * after the operation, and repair to clean with its content kept.
 */
final class CrashPoints {
  /** The operation under test, on an open read-write image. */
  interface Operation {
    void run(VdiImage image) throws IOException;
  }

  private CrashPoints() {}

  /**
   * Runs {@code op} over {@code start} and checks every crash point.
   *
   * @param before what the image reads before the operation
   * @param after what it reads after it (for a resize, another length)
   * @return the number of crash points checked
   */
  static int everyWrite(byte[] start, Operation op, byte[] before, byte[] after)
      throws IOException {
    MemDevice file = new MemDevice(start);
    file.log = Collections.synchronizedList(new ArrayList<>());
    try (VdiImage img = TestSupport.open(file, false)) {
      op.run(img);
      img.flush();
    }
    List<MemDevice.Change> log = new ArrayList<>(file.log);
    byte[] image = start;
    for (int i = 0; i <= log.size(); i++) {
      String at = "power lost after " + i + " of " + log.size() + " writes";
      try (VdiImage img = TestSupport.open(new MemDevice(image), false)) {
        CheckReport r = img.check(CheckMode.REPORT);
        assertEquals(0, r.corruptions(), at + ": " + r.messages());
        byte[] got = TestSupport.read(img, 0, (int) img.size());
        assertTrue(Arrays.equals(got, before) || Arrays.equals(got, after),
            at + ": the image reads neither as before nor as after the operation (size "
                + got.length + ")");
        CheckReport fixed = img.check(CheckMode.REPAIR_ALL);
        assertEquals(0, fixed.corruptions() + fixed.leaks(), at + ": after repair: "
            + fixed.messages());
        assertArrayEquals(got, TestSupport.read(img, 0, (int) img.size()), at + ": repair lost"
            + " data");
      }
      if (i < log.size()) {
        image = log.get(i).applyTo(image);
      }
    }
    return log.size() + 1;
  }
}
