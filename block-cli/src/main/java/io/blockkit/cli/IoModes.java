package io.blockkit.cli;

import java.util.Set;

/**
 * qemu-img's cache ({@code -t}, {@code -T}) and AIO ({@code -i}) modes. They are accepted and
 * checked so that qemu-img command lines keep working, but blockkit always does the same thing:
 * I/O through the host page cache with a flush before a writing command ends (qemu's
 * {@code writeback}). docs/CLI.md explains why.
 */
final class IoModes {
  /** qemu's cache modes; {@code off} is qemu's alias of {@code none}. */
  static final Set<String> CACHE =
      Set.of("none", "off", "writeback", "writethrough", "directsync", "unsafe");
  static final Set<String> AIO = Set.of("threads", "native", "io_uring");

  private IoModes() {}

  /** Throws qemu's message for an unknown cache mode; {@code null} (not given) is fine. */
  static void checkCache(String mode, String what) {
    if (mode != null && !CACHE.contains(mode)) {
      throw new CliException(1, "Invalid " + what + " option: " + mode);
    }
  }

  static void checkAio(String mode) {
    if (mode != null && !AIO.contains(mode)) {
      throw new CliException(1, "Invalid aio option: " + mode);
    }
  }
}
