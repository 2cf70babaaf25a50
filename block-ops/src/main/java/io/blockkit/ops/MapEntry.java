package io.blockkit.ops;

import java.util.Objects;

/**
 * One run of an image's allocation map, with {@code qemu-img map}'s fields.
 *
 * @param start virtual offset of the run
 * @param length its length
 * @param depth the layer that decides its content: 0 the image itself, 1 its backing, ...
 * @param present some layer of the chain allocates it (false: it reads zeros because no layer
 *     has it)
 * @param zero it reads as zeros
 * @param data its bytes are stored in a file ({@code offset} tells where, if known)
 * @param offset where the run starts in {@code file}, or -1 when there is no such place
 * @param file the file that holds it (the user's name for the top image), or null without an
 *     offset
 */
public record MapEntry(long start, long length, int depth, boolean present, boolean zero,
    boolean data, long offset, String file) {

  /** Whether {@code next} continues this run with the same status (and contiguous offsets). */
  public boolean mergeable(MapEntry next) {
    return next.start == start + length && next.depth == depth && next.present == present
        && next.zero == zero && next.data == data && (offset < 0) == (next.offset < 0)
        && Objects.equals(file, next.file) && (offset < 0 || offset + length == next.offset);
  }

  /** This run followed by {@code next} ({@link #mergeable} must be true). */
  public MapEntry plus(MapEntry next) {
    return new MapEntry(start, length + next.length, depth, present, zero, data, offset, file);
  }
}
