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

/** Turns errno values and the JDK's I/O exceptions into blockkit's, naming the file. */
final class FileErrors {
  private FileErrors() {}

  /** The blockkit exception for {@code e}, raised while using {@code location}. */
  static BlockException map(String location, IOException e) {
    if (e instanceof BlockException b) {
      return b;
    }
    return new ImageAccessException(location, reason(e), e);
  }

  /**
   * The blockkit exception for a system call on {@code location} failing with {@code errno}
   * (Linux numbering, the same on x86_64 and aarch64); {@code text} is strerror's, shown for
   * errors without a reason of their own.
   */
  static BlockException forErrno(String location, int errno, String text) {
    Reason r = switch (errno) {
      case 2 -> Reason.NOT_FOUND; // ENOENT
      case 1, 13 -> Reason.ACCESS_DENIED; // EPERM, EACCES
      case 17 -> Reason.ALREADY_EXISTS; // EEXIST
      case 20 -> Reason.NOT_A_DIRECTORY; // ENOTDIR
      case 21 -> Reason.IS_DIRECTORY; // EISDIR
      case 28, 122 -> Reason.NO_SPACE; // ENOSPC, EDQUOT
      case 30 -> Reason.READ_ONLY_FILE_SYSTEM; // EROFS
      default -> Reason.OTHER;
    };
    String detail = r != Reason.OTHER ? null
        : text != null && !text.isBlank() ? text : "errno " + errno;
    return new ImageAccessException(location, r, detail, null);
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
    if (t.contains("not a directory")) {
      return Reason.NOT_A_DIRECTORY;
    }
    if (t.contains("read-only file system")) {
      return Reason.READ_ONLY_FILE_SYSTEM;
    }
    if (t.contains("permission denied") || t.contains("operation not permitted")) {
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
