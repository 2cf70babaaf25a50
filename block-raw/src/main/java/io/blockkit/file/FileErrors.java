package io.blockkit.file;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Locale;

/** Turns the JDK's I/O exceptions into blockkit's, naming the file. */
final class FileErrors {
  private FileErrors() {}

  /** The blockkit exception for {@code e}, raised while using {@code location}. */
  static BlockException map(String location, IOException e) {
    if (e instanceof BlockException b) {
      return b;
    }
    return new ImageAccessException(location, reason(e), e);
  }

  static Reason reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return Reason.NOT_FOUND;
    }
    if (e instanceof AccessDeniedException) {
      return Reason.ACCESS_DENIED;
    }
    if (e instanceof FileAlreadyExistsException) {
      return Reason.ALREADY_EXISTS;
    }
    // the JDK reports errno only as text (strerror), in FileSystemException's reason or the message
    String text = e instanceof FileSystemException f && f.getReason() != null ? f.getReason()
        : String.valueOf(e.getMessage());
    String t = text.toLowerCase(Locale.ROOT);
    if (t.contains("no space left on device") || t.contains("disk quota exceeded")) {
      return Reason.NO_SPACE;
    }
    if (t.contains("is a directory")) {
      return Reason.IS_DIRECTORY;
    }
    if (t.contains("permission denied") || t.contains("operation not permitted")
        || t.contains("read-only file system")) {
      return Reason.ACCESS_DENIED;
    }
    if (e instanceof FileNotFoundException || t.contains("no such file or directory")) {
      return Reason.NOT_FOUND;
    }
    if (t.contains("file exists")) {
      return Reason.ALREADY_EXISTS;
    }
    return Reason.OTHER;
  }
}
