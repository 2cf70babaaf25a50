package io.blockkit.qcow2;

import java.io.IOException;

/**
 * The flush that orders metadata writes (a refcount before the entry that needs it, a table
 * before the pointer to it). It is the file's flush, or nothing when the image was opened with
 * {@code cache.no-flush=on} (as qemu-img convert writes a new target: a crash there loses the
 * unfinished image anyway). Only power loss can reorder writes; a crash of the process cannot.
 */
@FunctionalInterface
interface Barrier {
  void order() throws IOException;
}
