package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.error.ImageAccessException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one-line messages for failures the file system produces (some cannot be staged as root). */
class ErrorsTest {
  @Test
  void permissionDeniedNamesTheFile() {
    assertEquals("Could not open 'a.vdi': Permission denied",
        Errors.oneLine(new AccessDeniedException("a.vdi")));
    assertEquals("Could not access 'a.vdi': Permission denied", Errors.oneLine(
        new ImageAccessException("a.vdi", ImageAccessException.Reason.ACCESS_DENIED, null)));
  }

  @Test
  void diskFullAndWrappedFailures() {
    assertEquals("Could not access 'b.raw': No space left on device", Errors.oneLine(
        new UncheckedIOException(new ImageAccessException("b.raw",
            ImageAccessException.Reason.NO_SPACE, new IOException("No space left on device")))));
    assertEquals("Could not open 'c': No such file or directory",
        Errors.oneLine(new NoSuchFileException("c")));
  }

  @Test
  void multiLineMessagesBecomeOneLine() {
    String s = Errors.oneLine(new IOException("first\n         second"));
    assertEquals("first second", s);
  }

  @Test
  void bugsSayInternalErrorAndPointToDebug() {
    String s = Errors.oneLine(new IllegalStateException("oops"));
    assertTrue(s.startsWith("Internal error: oops") && s.contains("--debug"), s);
    assertFalse(Errors.oneLine(new IOException()).isEmpty());
  }

  /** Without --debug no Java class name reaches the user, whatever was thrown. */
  @Test
  void noJavaClassNames() {
    for (Throwable t : List.of(new IllegalStateException("Shutdown in progress"),
        new NullPointerException(), new IOException(), new java.io.EOFException(),
        new java.io.InterruptedIOException(), new StackOverflowError(),
        new RuntimeException(new IOException()))) {
      String s = Errors.oneLine(t);
      assertFalse(s.isBlank(), t.toString());
      assertFalse(s.contains("Exception") || s.contains("Error:") || s.contains("java."),
          () -> t + " printed as: " + s);
    }
  }
}
