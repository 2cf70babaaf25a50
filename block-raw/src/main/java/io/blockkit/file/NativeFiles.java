package io.blockkit.file;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The few Linux system calls the JDK does not offer (lseek with SEEK_DATA/SEEK_HOLE, fstat's block
 * count, fallocate, F_GETLK), through JNA on a file descriptor of our own. Every failure of JNA
 * itself (library missing, symbol missing, unsupported platform) turns into "unsupported", so
 * callers fall back to portable behaviour; nothing here throws an {@link Error}. {@link
 * NativeOpener} uses the same library to open files by name bytes.
 *
 * <p>This class must load without JNA on the class path (the portable fallback hands out {@link
 * #unavailable()} handles): JNA types appear only in signatures and in the {@code Holder}, never
 * in a catch clause, which would make the verifier load them ({@link NativeErrors} reads error
 * codes instead). {@code NoJnaTest} keeps it so.
 */
final class NativeFiles implements Closeable {
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int ENXIO = 6;
  private static final int F_GETLK = 5;
  private static final short F_WRLCK = 1;
  private static final short F_UNLCK = 2;
  /** struct flock: l_type, l_whence at 0 and 2, l_start and l_len at 8 and 16 (64-bit Linux). */
  private static final int FLOCK_SIZE = 32;
  private static final int FALLOC_FL_KEEP_SIZE = 1;
  private static final int FALLOC_FL_PUNCH_HOLE = 2;
  /** struct stat on x86_64 and aarch64 (the layouts differ, but not at these two fields). */
  private static final int STAT_BUFFER = 256;
  private static final int STAT_SIZE_OFFSET = 48;
  private static final int STAT_BLOCKS_OFFSET = 64;

  /** Signals that the file system or platform cannot answer; the caller falls back. */
  static final class Unsupported extends Exception {
    private static final long serialVersionUID = 1L;

    Unsupported(String why) {
      super(why, null, false, false);
    }
  }

  interface CLib extends Library {
    /** {@code path} NUL-terminated: a file name is bytes, not a String in some charset. */
    int open(byte[] path, int flags, int mode) throws LastErrorException;

    int unlink(byte[] path) throws LastErrorException;

    String strerror(int errno);

    long lseek(int fd, long offset, int whence) throws LastErrorException;

    int fstat(int fd, byte[] buf) throws LastErrorException;

    int fallocate(int fd, int mode, long offset, long len) throws LastErrorException;

    int ftruncate(int fd, long length) throws LastErrorException;

    int fcntl(int fd, int cmd, byte[] flock) throws LastErrorException;

    int close(int fd) throws LastErrorException;
  }

  private static final class Holder {
    static final CLib LIBC = load();

    private static CLib load() {
      try {
        if (!Platform.isLinux() || !Platform.is64Bit()
            || !(Platform.isIntel() || Platform.isARM())) {
          return null;
        }
        // The exact soname: a bare "c" is not on the library path without libc6-dev, and JNA
        // would then run /sbin/ldconfig -p to find it, costing a process start on every run.
        return Native.load(Platform.C_LIBRARY_NAME, CLib.class);
      } catch (LinkageError | RuntimeException e) {
        return null;
      }
    }
  }

  private final CLib libc;
  private final int fd;
  private volatile boolean seekWorks = true;
  private volatile boolean statWorks = true;
  private volatile boolean punchWorks = true;

  private NativeFiles(CLib libc, int fd) {
    this.libc = libc;
    this.fd = fd;
  }

  /** A handle that answers "unsupported" to everything: the portable fallbacks. */
  static NativeFiles unavailable() {
    return new NativeFiles(null, -1);
  }

  /** Takes over {@code fd} (opened with {@link #libc()}): closed by {@link #close}. */
  static NativeFiles adopt(CLib libc, int fd) {
    return new NativeFiles(libc, fd);
  }

  private static final java.util.concurrent.atomic.AtomicBoolean PRELOADING =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Initialises {@link Holder} on a daemon thread; a caller that needs it first just waits. */
  static void preload() {
    if (PRELOADING.compareAndSet(false, true)) {
      Thread t = new Thread(NativeFiles::libc, "blockkit-native-preload");
      t.setDaemon(true);
      t.start();
    }
  }

  /** The C library, or null where JNA or the platform cannot provide it. */
  static CLib libc() {
    try {
      return Holder.LIBC;
    } catch (LinkageError e) {
      return null;
    }
  }

  boolean available() {
    return libc != null;
  }

  /**
   * The first offset at or after {@code pos} holding data, or -1 when only a hole follows up to
   * the end of the file.
   */
  long nextData(long pos) throws Unsupported {
    return seek(pos, SEEK_DATA);
  }

  /** The first offset at or after {@code pos} in a hole (the end of the file counts as one). */
  long nextHole(long pos) throws Unsupported {
    return seek(pos, SEEK_HOLE);
  }

  private long seek(long pos, int whence) throws Unsupported {
    if (libc == null || !seekWorks) {
      throw new Unsupported("SEEK_DATA/SEEK_HOLE not available");
    }
    try {
      return libc.lseek(fd, pos, whence);
    } catch (RuntimeException e) {
      int errno = NativeErrors.errno(e);
      if (errno == ENXIO) {
        return -1;
      }
      // EINVAL: the file system does not know SEEK_DATA; anything else: do not trust it either
      seekWorks = false;
      throw new Unsupported(errno >= 0 ? "lseek failed with errno " + errno
          : "lseek unavailable: " + e);
    } catch (LinkageError e) {
      seekWorks = false;
      throw new Unsupported("lseek unavailable: " + e);
    }
  }

  /**
   * Bytes allocated on disk (st_blocks * 512), or -1 when unknown. {@code expectedSize} guards
   * against a misread struct: the st_size field must agree with it.
   */
  long allocatedBytes(long expectedSize) {
    if (libc == null || !statWorks) {
      return -1;
    }
    try {
      byte[] buf = new byte[STAT_BUFFER];
      libc.fstat(fd, buf);
      ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
      long size = b.getLong(STAT_SIZE_OFFSET);
      long blocks = b.getLong(STAT_BLOCKS_OFFSET);
      if (size != expectedSize || blocks < 0) {
        return -1;
      }
      return blocks * 512;
    } catch (LinkageError | RuntimeException e) {
      statWorks = false;
      return -1;
    }
  }

  /**
   * Whether another process holds a lock on byte {@code pos} (one that would block a write lock).
   * Locks of this process never count (F_GETLK). Only when {@link #available()}.
   *
   * @throws IOException when the query fails: the answer is unknown, so the open must not proceed
   */
  boolean lockedByAnotherProcess(long pos) throws IOException {
    try {
      byte[] flock = new byte[FLOCK_SIZE];
      ByteBuffer b = ByteBuffer.wrap(flock).order(ByteOrder.nativeOrder());
      b.putShort(0, F_WRLCK);
      b.putShort(2, (short) 0);
      b.putLong(8, pos);
      b.putLong(16, 1);
      libc.fcntl(fd, F_GETLK, flock);
      return b.getShort(0) != F_UNLCK;
    } catch (LinkageError | RuntimeException e) {
      throw new IOException("cannot query the file's locks (F_GETLK): " + e, e);
    }
  }

  /** Deallocates the range, keeping the file size; reads return zeros afterwards. */
  void punchHole(long offset, long length) throws Unsupported {
    if (libc == null || !punchWorks) {
      throw new Unsupported("fallocate not available");
    }
    try {
      libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    } catch (RuntimeException e) {
      punchWorks = false;
      int errno = NativeErrors.errno(e);
      throw new Unsupported(errno >= 0 ? "fallocate failed with errno " + errno
          : "fallocate unavailable: " + e);
    } catch (LinkageError e) {
      punchWorks = false;
      throw new Unsupported("fallocate unavailable: " + e);
    }
  }

  /** Sets the file length without writing (holes when growing). */
  void truncate(long length) throws Unsupported {
    if (libc == null) {
      throw new Unsupported("ftruncate not available");
    }
    try {
      libc.ftruncate(fd, length);
    } catch (LinkageError | RuntimeException e) {
      throw new Unsupported("ftruncate failed: " + e);
    }
  }

  @Override
  public void close() {
    if (libc != null) {
      try {
        libc.close(fd);
      } catch (LinkageError | RuntimeException e) {
        // nothing useful to do: the descriptor is gone or was never usable
      }
    }
  }
}
