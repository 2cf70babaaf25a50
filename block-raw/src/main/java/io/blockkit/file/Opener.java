package io.blockkit.file;

import io.blockkit.api.error.InvalidOptionException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * How the driver reaches host files by name: {@link NativeOpener} (Linux: the name's exact bytes,
 * no check-then-open gaps) or {@link PortableOpener} (anywhere else: the JDK's paths).
 */
abstract sealed class Opener permits NativeOpener, PortableOpener {
  /** What an open is for. */
  enum Access {
    READ,
    WRITE,
    /** Read-write, creating the file if it is missing (never truncating: the caller does). */
    CREATE;

    boolean writable() {
      return this != READ;
    }
  }

  /**
   * An open regular file or block device: a channel for I/O, a native handle (perhaps {@link
   * NativeFiles#unavailable()}), and what {@link HostStat} found (the key identifies the file for
   * {@link OpenFiles}).
   */
  record Opened(FileChannel channel, NativeFiles natives, HostStat stat) {
    boolean blockDevice() {
      return stat.type() == HostStat.Type.BLOCK_DEVICE;
    }
  }

  /**
   * The native opener where it works, else the portable one. {@link NativeOpener} links against
   * JNA, so it is not touched at all unless JNA's libc loaded ({@link NativeFiles#libc()}).
   */
  static Opener forHost(boolean useNative) {
    return useNative && NativeFiles.libc() != null && NativeOpener.usable()
        ? NativeOpener.INSTANCE : PortableOpener.INSTANCE;
  }

  /**
   * Opens {@code location}, refusing what is not a regular file or block device.
   *
   * @throws io.blockkit.api.error.ImageAccessException naming {@code location} and the reason
   * @throws InvalidOptionException if {@code location} cannot be a file name
   */
  abstract Opened open(String location, Access access) throws IOException;

  /**
   * Removes the name {@code location}; never a directory.
   *
   * @throws io.blockkit.api.error.ImageAccessException naming {@code location} and the reason
   */
  abstract void delete(String location) throws IOException;

  /** Refuses names no host file can have. */
  static void requireName(String location) throws InvalidOptionException {
    if (location.isEmpty()) {
      throw new InvalidOptionException("The file name is empty");
    }
    if (location.indexOf('\0') >= 0) {
      throw new InvalidOptionException("'" + location.replace('\0', '?')
          + "' is not a valid file name: it contains a NUL character");
    }
  }

  static void closeQuietly(Closeable c, Throwable primary) {
    try {
      c.close();
    } catch (IOException | RuntimeException e) {
      primary.addSuppressed(e);
    }
  }
}
