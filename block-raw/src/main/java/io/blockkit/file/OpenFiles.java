package io.blockkit.file;

import io.blockkit.api.error.ImageLockedException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The process-wide table of files this JVM has open, keyed by device and inode, and the locks that
 * keep other processes out.
 *
 * <p><b>Between processes</b> the locks follow QEMU's image-locking layout, so blockkit and
 * qemu-img see each other: a shared (read) lock on byte {@code 100 + p} means "I use permission
 * p", one on byte {@code 200 + p} means "nobody else may use p", with p = 0 consistent read,
 * 1 write, 3 resize. A read-write open uses {read, write, resize} and denies {write, resize}; a
 * read-only open uses {read} and denies {write, resize}; a force-share open takes no lock. An open
 * fails when another process denies what it uses or uses what it denies.
 *
 * <p><b>Inside the JVM</b> POSIX record locks cannot tell two opens apart (they belong to the
 * process), and closing <em>any</em> descriptor of a file drops <em>all</em> the process's locks
 * on it. So the table counts exclusive and shared holders itself, takes the OS locks once for the
 * whole JVM, and keeps every descriptor of a file open until its last user is gone.
 */
final class OpenFiles {
  /** How an open wants to lock the file. */
  enum LockMode {
    /** Read-write opens: no other writer or reader. */
    EXCLUSIVE(new int[] {0, 1, 3}, new int[] {1, 3}),
    /** Read-only opens: other readers are welcome, writers are not. */
    SHARED(new int[] {0}, new int[] {1, 3}),
    /** Force-share opens: no lock at all. */
    NONE(new int[0], new int[0]);

    private final int[] uses;
    private final int[] denies;

    LockMode(int[] uses, int[] denies) {
      this.uses = uses;
      this.denies = denies;
    }
  }

  private static final int PERM_BASE = 100;
  private static final int DENY_BASE = 200;

  private static final Map<Object, Entry> ENTRIES = new HashMap<>();

  /**
   * Test hook: run between taking this process's locks and checking for other processes' ones, to
   * widen that gap deterministically. Null outside tests.
   */
  static volatile Runnable lockGap;

  private static final class Entry {
    final Object key;
    int users;
    int sharedHolders;
    boolean exclusiveHeld;
    final List<FileLock> osLocks = new ArrayList<>();
    final List<Closeable> deferred = new ArrayList<>();

    Entry(Object key) {
      this.key = key;
    }
  }

  /** One user's registration; {@link #release} once. */
  static final class Handle {
    private final Entry entry;
    private final LockMode mode;
    private boolean released;

    private Handle(Entry entry, LockMode mode) {
      this.entry = entry;
      this.mode = mode;
    }

    /** Drops this user's lock, and closes the file's descriptors if it was the last user. */
    void release() throws IOException {
      List<Closeable> toClose = List.of();
      IOException failure = null;
      synchronized (ENTRIES) {
        if (released) {
          return;
        }
        released = true;
        try {
          if (mode == LockMode.EXCLUSIVE) {
            entry.exclusiveHeld = false;
            releaseOsLocks(entry);
          } else if (mode == LockMode.SHARED && --entry.sharedHolders == 0) {
            releaseOsLocks(entry);
          }
        } catch (IOException e) {
          failure = e;
        }
        if (--entry.users == 0) {
          ENTRIES.remove(entry.key);
          toClose = new ArrayList<>(entry.deferred);
          entry.deferred.clear();
        }
      }
      for (Closeable c : toClose) {
        try {
          c.close();
        } catch (IOException e) {
          if (failure == null) {
            failure = e;
          } else {
            failure.addSuppressed(e);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    }
  }

  private OpenFiles() {}

  private static void releaseOsLocks(Entry e) throws IOException {
    IOException failure = null;
    for (FileLock l : e.osLocks) {
      try {
        if (l.isValid()) {
          l.release();
        }
      } catch (IOException ex) {
        failure = ex;
      }
    }
    e.osLocks.clear();
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * Registers {@code channel} and {@code natives}, just opened on the file {@code key} names (see
   * {@link HostStat#key()}), and takes the
   * locks {@code mode} asks for. Both are closed when the last user of the file releases (or at
   * once if the lock is refused and nobody else uses the file).
   *
   * @throws ImageLockedException when another open, in this or another process, conflicts
   */
  static Handle register(Object key, String location, FileChannel channel, NativeFiles natives,
      LockMode mode) throws IOException {
    synchronized (ENTRIES) {
      Entry entry = ENTRIES.computeIfAbsent(key, Entry::new);
      entry.users++;
      entry.deferred.add(channel);
      entry.deferred.add(natives);
      try {
        lock(entry, channel, natives, mode, location);
      } catch (IOException | RuntimeException e) {
        // the refused descriptors stay in the entry: closing them now would drop others' locks
        if (--entry.users == 0) {
          ENTRIES.remove(key);
          for (Closeable c : entry.deferred) {
            Opener.closeQuietly(c, e);
          }
          entry.deferred.clear();
        }
        throw e;
      }
      return new Handle(entry, mode);
    }
  }

  private static void lock(Entry e, FileChannel channel, NativeFiles natives, LockMode mode,
      String location) throws IOException {
    switch (mode) {
      case NONE -> { }
      case EXCLUSIVE -> {
        if (e.exclusiveHeld || e.sharedHolders > 0) {
          throw new ImageLockedException(location);
        }
        lockAgainstOtherProcesses(e, channel, natives, mode, location);
        e.exclusiveHeld = true;
      }
      case SHARED -> {
        if (e.exclusiveHeld) {
          throw new ImageLockedException(location);
        }
        if (e.sharedHolders == 0) {
          lockAgainstOtherProcesses(e, channel, natives, mode, location);
        }
        e.sharedHolders++;
      }
      default -> throw new AssertionError(mode);
    }
  }

  /**
   * Takes the OS locks {@code mode} asks for, then checks that no other process holds a
   * conflicting one, in that order (QEMU's): of two processes opening at once, the one that checks
   * second sees the first one's locks, so both can never pass; both may be refused. Called only
   * while this JVM holds no lock on the file, so every lock seen is another process's.
   */
  private static void lockAgainstOtherProcesses(Entry e, FileChannel channel, NativeFiles natives,
      LockMode mode, String location) throws IOException {
    if (!natives.available()) {
      probeThenLock(e, channel, mode, location);
      return;
    }
    try {
      takeLocks(e, channel, mode, location);
      inTheGap();
      for (int p : mode.uses) {
        if (natives.lockedByAnotherProcess(DENY_BASE + p)) {
          throw new ImageLockedException(location);
        }
      }
      for (int p : mode.denies) {
        if (natives.lockedByAnotherProcess(PERM_BASE + p)) {
          throw new ImageLockedException(location);
        }
      }
    } catch (IOException | RuntimeException ex) {
      releaseAfterFailure(e, ex);
      throw ex;
    }
  }

  /**
   * The fallback without native access (no F_GETLK): a write-lock probe of each byte, then the
   * locks. The JDK refuses to probe a byte this JVM holds, so the probe has to come first, and two
   * processes can pass it together; read-only channels cannot probe at all. Documented as
   * best-effort in the package documentation.
   */
  private static void probeThenLock(Entry e, FileChannel channel, LockMode mode, String location)
      throws IOException {
    for (int p : mode.uses) {
      if (probeLocked(channel, DENY_BASE + p)) {
        throw new ImageLockedException(location);
      }
    }
    for (int p : mode.denies) {
      if (probeLocked(channel, PERM_BASE + p)) {
        throw new ImageLockedException(location);
      }
    }
    inTheGap();
    try {
      takeLocks(e, channel, mode, location);
    } catch (IOException | RuntimeException ex) {
      releaseAfterFailure(e, ex);
      throw ex;
    }
  }

  private static void inTheGap() {
    Runnable gap = lockGap;
    if (gap != null) {
      gap.run();
    }
  }

  private static void takeLocks(Entry e, FileChannel channel, LockMode mode, String location)
      throws IOException {
    for (int p : mode.uses) {
      e.osLocks.add(sharedLock(channel, PERM_BASE + p, location));
    }
    for (int p : mode.denies) {
      e.osLocks.add(sharedLock(channel, DENY_BASE + p, location));
    }
  }

  private static void releaseAfterFailure(Entry e, Throwable failure) {
    try {
      releaseOsLocks(e);
    } catch (IOException suppressed) {
      failure.addSuppressed(suppressed);
    }
  }

  /** Whether a write lock on byte {@code pos} would be refused (needs a writable channel). */
  private static boolean probeLocked(FileChannel channel, long pos) throws IOException {
    try {
      FileLock probe = channel.tryLock(pos, 1, false);
      if (probe == null) {
        return true;
      }
      probe.release();
      return false;
    } catch (java.nio.channels.NonWritableChannelException e) {
      return false; // a read-only channel cannot probe; it still locks
    } catch (OverlappingFileLockException e) {
      return true;
    }
  }

  private static FileLock sharedLock(FileChannel channel, long pos, String location)
      throws IOException {
    FileLock l;
    try {
      l = channel.tryLock(pos, 1, true);
    } catch (OverlappingFileLockException e) {
      throw new ImageLockedException(location);
    }
    if (l == null) {
      throw new ImageLockedException(location);
    }
    return l;
  }
}
