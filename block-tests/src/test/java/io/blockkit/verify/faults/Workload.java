package io.blockkit.verify.faults;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.verify.Images;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A reproducible random sequence of requests against an image of {@code size} bytes with
 * {@code blockSize}-byte blocks, and the byte model that says what each request leaves behind.
 * Requests cluster at block boundaries so that whole-block discards (which make VDI move blocks)
 * and new-block allocations are frequent; a flush comes at least every {@link #MAX_UNFLUSHED}
 * requests so the uncertainty an unflushed crash leaves stays small. The model reads a discarded
 * range as zeros, so a format whose discard may keep the old bytes gets writeZeroes instead.
 */
final class Workload {
  static final int MAX_UNFLUSHED = 4;

  enum Kind { WRITE, ZERO, DISCARD, FLUSH, COMPACT }

  /** One request; a write's data is generated once from its seed. */
  static final class Op {
    final Kind kind;
    final long offset;
    final long length;
    private final long seed;
    private byte[] data;

    Op(Kind kind, long offset, long length, long seed) {
      this.kind = kind;
      this.offset = offset;
      this.length = length;
      this.seed = seed;
    }

    byte[] data() {
      if (data == null) {
        data = Images.pattern(seed, (int) length);
      }
      return data;
    }

    /** Sends the request to {@code d}. */
    void run(BlockDevice d) throws IOException {
      switch (kind) {
        case WRITE -> d.write(offset, ByteBuffer.wrap(data()));
        case ZERO -> d.writeZeroes(offset, length);
        case DISCARD -> d.discard(offset, length);
        case FLUSH -> d.flush();
        case COMPACT -> compact(d);
        default -> throw new AssertionError(kind);
      }
    }

    /** Compaction changes no content; a variant the format does not compact (fixed VDI) skips it. */
    private static void compact(BlockDevice d) throws IOException {
      try {
        d.compact();
      } catch (UnsupportedFeatureException notThisVariant) {
        // nothing was changed
      }
    }

    /**
     * What the request does to the bytes {@code [base, base+out.length)} of the image (a block).
     * A discard reads back zeros exactly like writeZeroes (see {@link #random}).
     */
    void applyTo(long base, byte[] out) {
      long from = Math.max(offset, base);
      long to = Math.min(offset + length, base + out.length);
      if (kind == Kind.FLUSH || kind == Kind.COMPACT || from >= to) {
        return;
      }
      if (kind == Kind.WRITE) {
        System.arraycopy(data(), (int) (from - offset), out, (int) (from - base), (int) (to - from));
      } else {
        Arrays.fill(out, (int) (from - base), (int) (to - base), (byte) 0);
      }
    }

    boolean touches(long base, long len) {
      return kind != Kind.FLUSH && kind != Kind.COMPACT && offset < base + len
          && base < offset + length;
    }

    @Override
    public String toString() {
      return kind == Kind.FLUSH || kind == Kind.COMPACT ? kind.name().toLowerCase() : kind.name().toLowerCase() + "(" + offset + "+" + length
          + ")";
    }
  }

  final long seed;
  final long size;
  final long blockSize;
  final List<Op> ops;

  private Workload(long seed, long size, long blockSize, List<Op> ops) {
    this.seed = seed;
    this.size = size;
    this.blockSize = blockSize;
    this.ops = List.copyOf(ops);
  }

  /**
   * {@code count} requests (flushes included) drawn from {@code seed}; with {@code discards}
   * false, each discard drawn becomes a writeZeroes of the same range (the same draws otherwise);
   * with {@code compacts}, about one request in twelve is a compaction (which moves blocks and
   * shrinks the file without changing content).
   */
  static Workload random(long seed, long size, long blockSize, int count, boolean discards,
      boolean compacts) {
    Random r = new Random(seed);
    List<Op> ops = new ArrayList<>();
    long blocks = (size + blockSize - 1) / blockSize;
    int unflushed = 0;
    while (ops.size() < count) {
      int dice = r.nextInt(100);
      if (dice < 12 || unflushed == MAX_UNFLUSHED) {
        ops.add(new Op(Kind.FLUSH, 0, 0, 0));
        unflushed = 0;
        continue;
      }
      if (compacts && dice >= 92) {
        ops.add(new Op(Kind.COMPACT, 0, 0, 0));
        unflushed++;
        continue;
      }
      Kind kind = dice < 62 ? Kind.WRITE : dice < 76 || !discards ? Kind.ZERO : Kind.DISCARD;
      long offset;
      long length;
      int shape = r.nextInt(10);
      if (shape < 5) {
        // Whole blocks: allocations, and discards that free blocks and make the image compact.
        long first = r.nextLong(blocks);
        offset = first * blockSize;
        length = Math.min(size - offset, (1 + r.nextInt(2)) * blockSize);
      } else if (shape < 8) {
        // Near a block boundary, often crossing it.
        long boundary = (1 + r.nextLong(blocks)) * blockSize;
        offset = Math.max(0, Math.min(size - 1, boundary - 1 - r.nextInt(4096)));
        length = 1 + r.nextInt(8192);
      } else {
        offset = r.nextLong(size);
        length = 1 + r.nextInt((int) Math.min(blockSize, 300_000));
      }
      length = Math.min(length, size - offset);
      ops.add(new Op(kind, offset, length, r.nextLong()));
      unflushed++;
    }
    return new Workload(seed, size, blockSize, ops);
  }

  int blocks() {
    return (int) ((size + blockSize - 1) / blockSize);
  }

  long blockStart(int b) {
    return b * blockSize;
  }

  int blockLength(int b) {
    return (int) Math.min(blockSize, size - b * blockSize);
  }

  /** Whether block {@code b} of whole-image array {@code image} holds {@code contents}. */
  boolean blockEquals(byte[] image, int b, byte[] contents) {
    int from = (int) blockStart(b);
    return Arrays.equals(image, from, from + blockLength(b), contents, 0, contents.length);
  }

  /** Whether block {@code b} is the same in two whole-image arrays. */
  boolean sameBlock(byte[] image, byte[] other, int b) {
    int from = (int) blockStart(b);
    int to = from + blockLength(b);
    return Arrays.equals(image, from, to, other, from, to);
  }

  /** Where block {@code b} of {@code image} first differs from {@code expected} (a block's bytes). */
  String describeBlock(byte[] image, int b, byte[] expected) {
    int from = (int) blockStart(b);
    int at = Arrays.mismatch(image, from, from + blockLength(b), expected, 0, expected.length);
    return at < 0 ? "equal" : "differs at byte " + at + " of the block (" + image[from + at]
        + " vs " + (at < expected.length ? expected[at] : "none") + ")";
  }

  /** Where block {@code b} differs between two whole-image arrays. */
  String describeBlock(byte[] image, byte[] expectedImage, int b) {
    int from = (int) blockStart(b);
    int to = from + blockLength(b);
    int at = Arrays.mismatch(image, from, to, expectedImage, from, to);
    return at < 0 ? "equal" : "differs at byte " + at + " of the block (" + image[from + at]
        + " vs " + expectedImage[from + at] + ")";
  }

  @Override
  public String toString() {
    return "workload seed=" + seed + ", size " + size + ", block " + blockSize
        + ": " + ops;
  }
}
