package io.blockkit.verify.model;

/**
 * One step of a model-based run. Offsets and lengths are stored as abstract choices and resolved
 * against the image's size and block size when run, so the same sequence applies to any image
 * and shrinks towards small, early, block-aligned requests.
 */
sealed interface Op {
  /** Where a request starts: 0 anywhere, 1 near a block boundary, 2 at the last bytes. */
  record Pos(int kind, long raw, int delta) {
    long resolve(long size, long blockSize) {
      long blocks = Math.max(1, (size + blockSize - 1) / blockSize);
      long at = switch (kind) {
        case 1 -> Math.floorMod(raw, blocks + 1) * blockSize + delta;
        case 2 -> size - 1 - Math.floorMod(raw, 4);
        default -> Math.floorMod(raw, size);
      };
      return Math.max(0, Math.min(size - 1, at));
    }

    @Override
    public String toString() {
      return switch (kind) {
        case 1 -> "boundary#" + raw + (delta >= 0 ? "+" : "") + delta;
        case 2 -> "end-" + Math.floorMod(raw, 4);
        default -> "at#" + raw;
      };
    }
  }

  /** How long a request is: 0 one byte, 1 short, 2 up to two blocks and a bit. */
  record Len(int kind, int raw) {
    long resolve(long offset, long size, long blockSize) {
      long want = switch (kind) {
        case 1 -> 1 + Math.floorMod(raw, 600);
        case 2 -> 1 + Math.floorMod(raw, 2 * blockSize + 3);
        default -> 1;
      };
      return Math.max(1, Math.min(want, size - offset));
    }

    @Override
    public String toString() {
      return kind == 0 ? "1" : "len#" + raw;
    }
  }

  record Write(Pos pos, Len len, long seed) implements Op {}

  record WriteZeroes(Pos pos, Len len) implements Op {}

  record Discard(Pos pos, Len len) implements Op {}

  record Read(Pos pos, Len len) implements Op {}

  record Flush() implements Op {}

  record Reopen() implements Op {}
}
