package io.blockkit.vhdx;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The 4 KiB pages of the BAT and of sector bitmap blocks, as the open image sees them, loaded on
 * first use (through the in-memory log replay of a read-only open). Readers take no lock: words
 * are atomic. Changes are made, logged and applied by {@link MetadataWriter} under its lock; a
 * page with a change not yet committed stays in memory, and clean pages are
 * dropped when more than {@code limit} are held, so memory stays bounded for any BAT.
 */
final class PageCache {
  static final int WORDS = Layout.PAGE / 8;

  /** One page: 512 little-endian 64-bit words. */
  static final class Page {
    final long offset;
    final AtomicLongArray words = new AtomicLongArray(WORDS);
    /**
     * Changed in memory since the change was last logged and written in place (guarded by the
     * writer's lock): such a page stays in memory and goes into the next commit.
     */
    boolean dirty;

    Page(long offset) {
      this.offset = offset;
    }

    /** The page's bytes as the file stores them. */
    ByteBuffer encode() {
      ByteBuffer b = ByteBuffer.allocate(Layout.PAGE).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < WORDS; i++) {
        b.putLong(8 * i, words.get(i));
      }
      return b;
    }
  }

  private final ImageFile file;
  private final int limit;
  private final ConcurrentHashMap<Long, Page> pages = new ConcurrentHashMap<>();
  /** Ranges a pending commit zeroes (new sector bitmap blocks): their pages load as zeros. */
  private volatile List<long[]> assumedZero = List.of();

  PageCache(ImageFile file, int limit) {
    this.file = file;
    this.limit = limit;
  }

  /** The page starting at {@code offset} (a multiple of 4 KiB). */
  Page page(long offset) throws IOException {
    Page p = pages.get(offset);
    if (p != null) {
      return p;
    }
    try {
      return pages.computeIfAbsent(offset, this::load);
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private Page load(long offset) {
    Page p = new Page(offset);
    for (long[] r : assumedZero) {
      if (offset >= r[0] && offset < r[1]) {
        return p;
      }
    }
    try {
      ByteBuffer b = file.read(offset, Layout.PAGE);
      for (int i = 0; i < WORDS; i++) {
        p.words.set(i, b.getLong(8 * i));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  /** The 64-bit word at file offset {@code at} (8-byte aligned). */
  long word(long at) throws IOException {
    return page(at & -Layout.PAGE).words.get((int) (at & (Layout.PAGE - 1)) >>> 3);
  }

  /** Pages changed since their last commit, in file order. */
  List<Page> dirty() {
    List<Page> out = new ArrayList<>();
    for (Page p : pages.values()) {
      if (p.dirty) {
        out.add(p);
      }
    }
    out.sort(Comparator.comparingLong(p -> p.offset));
    return out;
  }

  /** Pages of {@code [offset, offset + length)} read as zeros until {@link #clearAssumedZero}. */
  void assumeZero(long offset, long length) {
    List<long[]> next = new ArrayList<>(assumedZero);
    next.add(new long[] {offset, offset + length});
    assumedZero = List.copyOf(next);
    pages.values().removeIf(p -> !p.dirty && p.offset >= offset && p.offset < offset + length);
  }

  /** The zeroing commit is done: pages load from the file again. */
  void clearAssumedZero() {
    assumedZero = List.of();
  }

  /** Drops clean pages once more than the limit are held; called under the writer's lock. */
  void trim() {
    if (pages.size() <= limit) {
      return;
    }
    pages.values().removeIf(p -> !p.dirty);
  }

  /** Forgets every clean page, so the next reads see the file (after a repair rewrote it). */
  void dropClean() {
    pages.values().removeIf(p -> !p.dirty);
  }
}
