package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CancellationTest {
  @Test
  void abandonCancelsAndRunsEachRegisteredCleanUpOnce() throws Exception {
    Cancellation token = new Cancellation();
    List<String> ran = new ArrayList<>();
    Cancellation.Registration a = token.register(() -> ran.add("a"));
    Cancellation.Registration b = token.register(() -> ran.add("b"));
    b.close(); // finished: its clean-up no longer applies
    assertFalse(token.isCancelled());
    token.check("not yet");
    token.abandon();
    token.abandon();
    a.close();
    assertEquals(List.of("a"), ran);
    assertTrue(token.isCancelled());
    CancelledException e = assertThrows(CancelledException.class, () -> token.check("it stopped"));
    assertEquals("it stopped", e.getMessage());
  }
}
