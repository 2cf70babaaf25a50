package io.blockkit.file;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.security.SecureRandom;
import java.util.Optional;

/**
 * New images built under a hidden name beside the target, {@code .NAME.blockkit-RANDOM.tmp}, and
 * renamed into place when complete ({@link FileDriver#stagingLocation}, {@link FileDriver#commit}).
 * A process killed before the rename leaves the target as it was plus, at worst, that hidden file,
 * which nothing else uses and anyone may delete.
 *
 * <p>A symbolic link as the target is followed: the image replaces the file it points to, as
 * writing through the link would. An existing target that is not a regular file (a device, a
 * pipe) is written in place; staging is not offered for it.
 */
final class Staging {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_LINKS = 40;
  /** Characters of the target's name kept in the staged name (file names have a length limit). */
  private static final int MAX_NAME = 100;

  private Staging() {}

  /** Whether a file name is one {@link #location} makes: {@code .NAME.blockkit-RANDOM.tmp}. */
  static boolean isStaged(String fileName) {
    return fileName.startsWith(".") && fileName.matches("\\..*\\.blockkit-[0-9a-z]+\\.tmp");
  }

  static Optional<String> location(Path target) throws IOException {
    Path real = followLinks(target);
    Path name = real.getFileName();
    if (name == null || Files.exists(real) && !Files.isRegularFile(real)) {
      return Optional.empty();
    }
    String base = name.toString();
    base = base.substring(0, Math.min(base.length(), MAX_NAME));
    while (true) {
      Path staged = real.resolveSibling("." + base + ".blockkit-"
          + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
      if (Files.notExists(staged, LinkOption.NOFOLLOW_LINKS)) {
        return Optional.of(staged.toString());
      }
    }
  }

  /**
   * Syncs {@code staged} (closed by its writer), renames it to {@code target} (following a link
   * at {@code target}), then syncs the directory. A replaced file's permissions (and owner, where
   * allowed) pass to the new one. Without {@code replace}, a hard link makes the name appear only
   * if it is still free.
   */
  static void commit(Path staged, Path target, String location, boolean replace)
      throws IOException {
    Path real = followLinks(target);
    try {
      try (FileChannel ch = FileChannel.open(staged, StandardOpenOption.READ)) {
        ch.force(true);
      }
      if (replace) {
        keepAttributes(real, staged);
        Files.move(staged, real, StandardCopyOption.ATOMIC_MOVE);
      } else {
        try {
          Files.createLink(real, staged);
          Files.delete(staged);
        } catch (UnsupportedOperationException | FileSystemException noLinks) {
          if (noLinks instanceof FileAlreadyExistsException e) {
            throw e;
          }
          // a file system without hard links: check, then rename
          if (Files.exists(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(location);
          }
          Files.move(staged, real, StandardCopyOption.ATOMIC_MOVE);
        }
      }
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    syncDirectory(real);
  }

  private static Path followLinks(Path p) throws IOException {
    for (int i = 0; i < MAX_LINKS && Files.isSymbolicLink(p); i++) {
      p = p.resolveSibling(Files.readSymbolicLink(p));
    }
    return p;
  }

  private static void keepAttributes(Path from, Path to) throws IOException {
    PosixFileAttributes a;
    try {
      a = Files.readAttributes(from, PosixFileAttributes.class);
    } catch (UnsupportedOperationException | java.nio.file.NoSuchFileException gone) {
      return;
    }
    Files.setPosixFilePermissions(to, a.permissions());
    PosixFileAttributeView view = Files.getFileAttributeView(to, PosixFileAttributeView.class);
    try {
      view.setOwner(a.owner());
      view.setGroup(a.group());
    } catch (IOException notPermitted) {
      // only root may give a file away; the new file stays the caller's
    }
  }

  /** Makes the rename durable. */
  private static void syncDirectory(Path file) {
    Path dir = file.toAbsolutePath().getParent();
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException unsupported) {
      // some file systems (FUSE, network) cannot sync a directory; the rename itself is done
    }
  }
}
