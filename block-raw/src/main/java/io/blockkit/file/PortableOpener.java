package io.blockkit.file;

import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.InvalidOptionException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Opens host files through the JDK's paths, where {@link NativeOpener} cannot run (not Linux, no
 * JNA, no {@code /proc}). Its limits, documented in the package: names must be representable in
 * the JVM's file-name encoding; the type check comes before the open, so a file replaced by a
 * FIFO in that gap can still block the open; and Path drops a trailing slash, whose meaning
 * (the name must be a directory) is restored here by hand.
 */
final class PortableOpener extends Opener {
  static final PortableOpener INSTANCE = new PortableOpener();

  private PortableOpener() {}

  @Override
  Opened open(String location, Access access) throws IOException {
    Path path = toPath(location);
    requireNoTrailingSlash(location, path, access == Access.CREATE);
    if (Files.exists(path)) {
      stat(location, path).requireImageFile(location); // before the open: a FIFO would block it
    }
    OpenOption[] options = switch (access) {
      case READ -> new OpenOption[] {StandardOpenOption.READ};
      case WRITE -> new OpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
      case CREATE -> new OpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE,
          StandardOpenOption.CREATE};
    };
    FileChannel channel;
    try {
      channel = FileChannel.open(path, options);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    try {
      HostStat stat = stat(location, path);
      stat.requireImageFile(location);
      return new Opened(channel, NativeFiles.unavailable(), stat);
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel, e);
      throw e;
    }
  }

  @Override
  void delete(String location) throws IOException {
    Path path = toPath(location);
    requireNoTrailingSlash(location, path, false);
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      throw new ImageAccessException(location, Reason.IS_DIRECTORY, null);
    }
    try {
      Files.delete(path);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
  }

  private static HostStat stat(String location, Path path) throws IOException {
    try {
      return HostStat.of(path);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
  }

  static Path toPath(String location) throws InvalidOptionException {
    requireName(location);
    try {
      return Path.of(location);
    } catch (InvalidPathException e) {
      throw new InvalidOptionException("'" + location + "' is not a valid file name: "
          + e.getReason());
    }
  }

  /**
   * What the kernel says of a name ending in '/', which Path has dropped: creating it is
   * creating a directory; opening it needs a directory (which is then refused).
   */
  private static void requireNoTrailingSlash(String location, Path path, boolean create)
      throws ImageAccessException {
    if (!location.endsWith("/")) {
      return;
    }
    Reason r = create || Files.isDirectory(path) ? Reason.IS_DIRECTORY
        : Files.exists(path) ? Reason.NOT_A_DIRECTORY : Reason.NOT_FOUND;
    throw new ImageAccessException(location, r, null);
  }
}
