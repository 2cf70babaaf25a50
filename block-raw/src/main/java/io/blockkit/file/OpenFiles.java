package io.blockkit.file;

import io.blockkit.api.error.ImageLockedException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The process-wide table of files this JVM has open, keyed by device and inode.
 *
 * <p>Why it exists: POSIX record locks belong to the process, and closing <em>any</em> descriptor
 * of a file drops <em>all</em> the process's locks on it. The JDK's own lock table also refuses a
 * second lock on a file the JVM already locked, even a shared one. So the table counts shared and
 * exclusive holders itself, takes one OS lock for the whole JVM, and keeps every descriptor of a
 * file open until the last user of that file is gone.
 */
final class OpenFiles {
  /** How an open wants to lock the file. */
  enum LockMode {
    /** Read-write opens: nobody else may hold any lock. */
    EXCLUSIVE,
    /** Read-only opens: other readers are welcome, writers are not. */
    SHARED,
    /** Force-share opens: no lock at all. */
    NONE
  }

  private static final Map<Object, Entry> ENTRIES = new HashMap<>();

  private static final class Entry {
    final Object key;
    int users;
    int sharedHolders;
    boolean exclusiveHeld;
    FileLock osLock;
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

    /** Closes {@code c} when the last user of the file has released, not before. */
    void closeLater(Closeable c) {
      synchronized (ENTRIES) {
        entry.deferred.add(c);
      }
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
            releaseOsLock(entry);
          } else if (mode == LockMode.SHARED && --entry.sharedHolders == 0) {
            releaseOsLock(entry);
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

  private static void releaseOsLock(Entry e) throws IOException {
    FileLock l = e.osLock;
    e.osLock = null;
    if (l != null && l.isValid()) {
      l.release();
    }
  }

  /**
   * Registers {@code channel}, just opened on {@code path}, and takes the lock {@code mode} asks
   * for. The channel is closed when the last user of the file releases (or at once if the lock is
   * refused and nobody else uses the file).
   *
   * @throws ImageLockedException when another open (in this or another process) holds a
   *     conflicting lock
   */
  static Handle register(Path path, String location, FileChannel channel, LockMode mode)
      throws IOException {
    Object key = fileKey(path);
    synchronized (ENTRIES) {
      Entry entry = ENTRIES.computeIfAbsent(key, Entry::new);
      entry.users++;
      entry.deferred.add(channel);
      try {
        lock(entry, channel, mode, location);
      } catch (IOException | RuntimeException e) {
        // the refused channel stays in the entry: closing it now would drop the holder's OS lock
        if (--entry.users == 0) {
          ENTRIES.remove(key);
          closeAll(entry.deferred, e);
        }
        throw e;
      }
      return new Handle(entry, mode);
    }
  }

  private static void closeAll(List<Closeable> closeables, Throwable primary) {
    for (Closeable c : closeables) {
      try {
        c.close();
      } catch (IOException e) {
        primary.addSuppressed(e);
      }
    }
    closeables.clear();
  }

  private static void lock(Entry e, FileChannel channel, LockMode mode, String location)
      throws IOException {
    switch (mode) {
      case NONE -> { }
      case EXCLUSIVE -> {
        if (e.exclusiveHeld || e.sharedHolders > 0) {
          throw new ImageLockedException(location);
        }
        e.osLock = tryLock(channel, false, location);
        e.exclusiveHeld = true;
      }
      case SHARED -> {
        if (e.exclusiveHeld) {
          throw new ImageLockedException(location);
        }
        if (e.sharedHolders == 0) {
          e.osLock = tryLock(channel, true, location);
        }
        e.sharedHolders++;
      }
      default -> throw new AssertionError(mode);
    }
  }

  private static FileLock tryLock(FileChannel channel, boolean shared, String location)
      throws IOException {
    FileLock l;
    try {
      l = channel.tryLock(0, Long.MAX_VALUE, shared);
    } catch (OverlappingFileLockException e) {
      throw new ImageLockedException(location);
    }
    if (l == null) {
      throw new ImageLockedException(location);
    }
    return l;
  }

  private static Object fileKey(Path path) throws IOException {
    BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
    Object key = a.fileKey();
    return key != null ? key : path.toRealPath();
  }
}
