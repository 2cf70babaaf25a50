package io.blockkit.file;

import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;

/**
 * What a host file is (its type) and which file it is (a key equal for every name and descriptor
 * of the same file: device and inode where the platform has them).
 */
record HostStat(Type type, Object key) {
  /** File types, from the {@code st_mode} bits. */
  enum Type {
    REGULAR(null),
    BLOCK_DEVICE(null),
    DIRECTORY(null),
    CHARACTER_DEVICE("it is a character device"),
    FIFO("it is a FIFO"),
    SOCKET("it is a socket"),
    OTHER("it is of a type the host does not name");

    private final String refusal;

    Type(String refusal) {
      this.refusal = refusal;
    }

    static Type ofMode(int mode) {
      return switch (mode & 0170000) {
        case 0100000 -> REGULAR;
        case 0060000 -> BLOCK_DEVICE;
        case 0040000 -> DIRECTORY;
        case 0020000 -> CHARACTER_DEVICE;
        case 0010000 -> FIFO;
        case 0140000 -> SOCKET;
        default -> OTHER;
      };
    }
  }

  /** Device and inode: the identity of a file on a Unix host. */
  private record Inode(long dev, long ino) {}

  /** The type and key of the file {@code path} names (following symbolic links). */
  static HostStat of(Path path) throws IOException {
    Map<String, Object> unix;
    try {
      unix = Files.readAttributes(path, "unix:mode,dev,ino");
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return portable(path); // not a Unix JDK
    }
    return new HostStat(Type.ofMode((Integer) unix.get("mode")),
        new Inode((Long) unix.get("dev"), (Long) unix.get("ino")));
  }

  private static HostStat portable(Path path) throws IOException {
    BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
    Type type = a.isRegularFile() ? Type.REGULAR : a.isDirectory() ? Type.DIRECTORY : Type.OTHER;
    Object key = a.fileKey();
    return new HostStat(type, key != null ? key : path.toRealPath());
  }

  /**
   * Refuses what no image can live in: only regular files and block devices are opened. A FIFO
   * would block the open or the first read forever, a socket cannot be opened at all, and a
   * character device has no size and may block reads (a terminal) or act when opened.
   *
   * @throws ImageAccessException IS_DIRECTORY or NOT_A_FILE, naming {@code location}
   */
  void requireImageFile(String location) throws ImageAccessException {
    if (type == Type.DIRECTORY) {
      throw new ImageAccessException(location, Reason.IS_DIRECTORY, null);
    }
    if (type.refusal != null) {
      throw new ImageAccessException(location, Reason.NOT_A_FILE, type.refusal, null);
    }
  }
}
