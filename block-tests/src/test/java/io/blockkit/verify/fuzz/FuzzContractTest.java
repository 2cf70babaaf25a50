package io.blockkit.verify.fuzz;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.error.CorruptImageException;
import io.blockkit.verify.formats.FormatUnderTest;
import io.blockkit.verify.formats.Formats;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fuzz targets' harness fails on each kind of contract breach, and only on those. */
class FuzzContractTest {
  private static final byte[] INPUT = new byte[16];
  private static volatile boolean spin;
  private static volatile Object sink;

  @Test
  void anUncheckedExceptionEscapesAsItIs() {
    assertThrows(ArrayIndexOutOfBoundsException.class, () -> FuzzContract.run(INPUT, 1 << 20,
        () -> {
          throw new ArrayIndexOutOfBoundsException(3);
        }));
  }

  @Test
  void anIoExceptionWhereSuccessWasPromisedFails() {
    AssertionError e = assertThrows(AssertionError.class, () -> FuzzContract.run(INPUT, 1 << 20,
        () -> {
          throw new IOException("boom");
        }));
    assertInstanceOf(IOException.class, e.getCause());
  }

  @Test
  void aDocumentedExceptionCaughtByTheBodyPasses() {
    assertDoesNotThrow(() -> FuzzContract.run(INPUT, 64L << 20, () -> {
      FuzzContract.Outcome<Void> o = FuzzContract.attempt(() -> {
        throw new CorruptImageException("x", "header", 0, "bad", "good");
      });
      assertTrue(!o.ok() && o.kind().endsWith("CorruptImageException"));
    }));
  }

  @Test
  void aHangFailsWithTheWorkersStack() {
    spin = true;
    try {
      AssertionError e = assertThrows(AssertionError.class,
          () -> FuzzContract.run(INPUT, Long.MAX_VALUE, 200, FuzzContractTest::spinWhileAsked));
      assertTrue(e.getMessage().startsWith("Hang"), e.getMessage());
      assertTrue(List.of(e.getStackTrace()).stream()
          .anyMatch(f -> f.getMethodName().equals("spinWhileAsked")), "stack of the worker");
    } finally {
      spin = false;
    }
    // Later inputs run on a fresh worker.
    assertDoesNotThrow(() -> FuzzContract.run(INPUT, Long.MAX_VALUE, () -> { }));
  }

  @Test
  void allocatingBeyondTheBudgetFails() {
    AssertionError e = assertThrows(AssertionError.class, () -> FuzzContract.run(INPUT, 8 << 20,
        () -> {
          List<byte[]> kept = new ArrayList<>();
          for (int i = 0; i < 32; i++) {
            kept.add(new byte[1 << 20]);
          }
          sink = kept;
        }));
    assertTrue(e.getMessage().startsWith("Unbounded allocation"), e.getMessage());
  }

  /**
   * No format's fuzz target opts out of the allocation contract: for a 4 KiB input (libFuzzer's
   * default maximum length) its budget stays within four times the default's 64 MiB. The time
   * limit is the same for every format.
   */
  @Test
  void everyFormatsBudgetIsBounded() {
    for (FormatUnderTest f : Formats.all()) {
      if (f.fuzz().applies()) {
        long budget = f.fuzz().get().allocationBudget(4096);
        assertTrue(budget > 0 && budget <= 4 * (64L << 20) + 1024L * 4096,
            f.name() + "'s allocation budget for a 4 KiB input is " + budget);
      }
    }
  }

  private static void spinWhileAsked() {
    while (spin) {
      Thread.onSpinWait();
    }
  }
}
