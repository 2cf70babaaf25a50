package io.blockkit.file;

import com.sun.jna.LastErrorException;
import io.blockkit.api.SurrogateEscape;
import io.blockkit.api.error.InvalidOptionException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Opens host files by the exact bytes of their names (Linux, through JNA), the way qemu-img does,
 * whatever the JVM's file-name encoding:
 *
 * <ol>
 *   <li>the name (a String, {@link SurrogateEscape}d) becomes its bytes, and {@code open(2)} with
 *       {@code O_PATH} finds the file: no device is opened, no FIFO blocks, and the kernel applies
 *       its own rules to the name (a trailing slash means a directory);
 *   <li>the type of exactly that file is checked through {@code /proc/self/fd/N} (a regular file
 *       or a block device, else refused);
 *   <li>the same file is reopened through {@code /proc/self/fd/N}, once natively for the system
 *       calls of {@link NativeFiles} and once as the JDK channel for I/O and locks.
 * </ol>
 * There is no gap between checking and opening: both act on the file the first step found, even
 * if the name is renamed or replaced meanwhile. Creating a missing file uses {@code O_CREAT} with
 * {@code O_NONBLOCK}, so a FIFO created under the same name at that moment cannot block either.
 */
final class NativeOpener extends Opener {
  static final NativeOpener INSTANCE = new NativeOpener();

  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int O_CREAT = 0100;
  private static final int O_NOCTTY = 0400;
  private static final int O_NONBLOCK = 04000;
  private static final int O_CLOEXEC = 02000000;
  private static final int O_PATH = 010000000;
  private static final int NEW_FILE_MODE = 0666; // less the umask, as the JDK and qemu-img create
  private static final Path PROC_FDS = Path.of("/proc/self/fd");

  private static final class Usable {
    static final boolean USABLE = NativeFiles.libc() != null && Files.isDirectory(PROC_FDS);
  }

  private NativeOpener() {}

  /** Whether JNA's libc and {@code /proc/self/fd} are both there. */
  static boolean usable() {
    return Usable.USABLE;
  }

  /** The bytes of {@code location}, NUL-terminated for the C library. */
  static byte[] nameBytes(String location) throws InvalidOptionException {
    requireName(location);
    byte[] name;
    try {
      name = SurrogateEscape.encode(location);
    } catch (IllegalArgumentException e) {
      throw new InvalidOptionException("'" + location + "' is not a valid file name: "
          + e.getMessage());
    }
    return Arrays.copyOf(name, name.length + 1);
  }

  @Override
  Opened open(String location, Access access) throws IOException {
    NativeFiles.CLib libc = NativeFiles.libc();
    byte[] name = nameBytes(location);
    int found;
    try {
      found = libc.open(name, O_PATH | O_CLOEXEC, 0);
    } catch (LastErrorException e) {
      if (access != Access.CREATE) {
        throw error(libc, location, e);
      }
      try {
        // missing (or a name only creation can judge, such as "new/"): let O_CREAT answer
        found = libc.open(name, O_RDWR | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
            NEW_FILE_MODE);
      } catch (LastErrorException e2) {
        throw error(libc, location, e2);
      }
    }
    try {
      return reopen(libc, location, found, access);
    } finally {
      close(libc, found);
    }
  }

  /** Checks the file behind {@code fd} and opens it again for the native calls and the JDK. */
  private static Opened reopen(NativeFiles.CLib libc, String location, int fd, Access access)
      throws IOException {
    Path self = PROC_FDS.resolve(Integer.toString(fd));
    HostStat stat;
    try {
      stat = HostStat.of(self);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    stat.requireImageFile(location);
    int flags = (access.writable() ? O_RDWR : O_RDONLY) | O_NOCTTY | O_CLOEXEC;
    int nativeFd;
    try {
      nativeFd = libc.open((self + "\0").getBytes(StandardCharsets.US_ASCII), flags, 0);
    } catch (LastErrorException e) {
      throw error(libc, location, e); // EACCES, EROFS, ETXTBSY...: about the file, not /proc
    }
    NativeFiles natives = NativeFiles.adopt(libc, nativeFd);
    try {
      Path again = PROC_FDS.resolve(Integer.toString(nativeFd));
      FileChannel channel = access.writable()
          ? FileChannel.open(again, StandardOpenOption.READ, StandardOpenOption.WRITE)
          : FileChannel.open(again, StandardOpenOption.READ);
      return new Opened(channel, natives, stat);
    } catch (IOException e) {
      closeQuietly(natives, e);
      throw FileErrors.map(location, e);
    } catch (RuntimeException e) {
      closeQuietly(natives, e);
      throw e;
    }
  }

  @Override
  void delete(String location) throws IOException {
    NativeFiles.CLib libc = NativeFiles.libc();
    try {
      libc.unlink(nameBytes(location)); // never a directory: unlink(2) refuses with EISDIR
    } catch (LastErrorException e) {
      throw error(libc, location, e);
    }
  }

  private static IOException error(NativeFiles.CLib libc, String location, LastErrorException e) {
    int errno = e.getErrorCode();
    String text;
    try {
      text = libc.strerror(errno);
    } catch (LinkageError | RuntimeException ex) {
      text = null;
    }
    return FileErrors.forErrno(location, errno, text);
  }

  private static void close(NativeFiles.CLib libc, int fd) {
    try {
      libc.close(fd);
    } catch (LastErrorException e) {
      // an O_PATH or just-created descriptor: nothing was written through it
    }
  }
}
