package io.blockkit.qcow2;

import io.blockkit.api.CheckMode;
import java.io.IOException;
import java.util.List;

/**
 * The metadata life of a read-write open: the first write's header changes, the flush that
 * makes writes durable and then applies the frees that waited for it, and close.
 *
 * <p>Its part of the crash model: frees are applied only after the flush that made the entries
 * no longer naming them durable; with lazy refcounts the dirty bit is set (and flushed) before
 * the first write and cleared at close only after the refcounts are written and flushed; every
 * consistent persistent bitmap is flagged in use before the first write.
 */
final class WriteSession {
  private final Qcow2Image img;

  WriteSession(Qcow2Image img) {
    this.img = img;
  }

  /** Makes the first write's header changes unless they are made. */
  void ensurePrepared() throws IOException {
    if (img.prepared) {
      return;
    }
    img.state.writeLock().lock();
    try {
      prepare();
    } finally {
      img.state.writeLock().unlock();
    }
  }

  /**
   * The first write's header changes, made once (the caller holds the image exclusively): refuse
   * a corrupt image, rebuild the refcounts of a dirty one, clear unknown autoclear bits, drop a
   * bitmaps extension a program without bitmap support left inconsistent, flag consistent bitmaps
   * in use, and set the dirty bit when lazy refcounts are on.
   *
   * @throws io.blockkit.api.error.BlockException if the image is marked corrupt
   * @throws IOException if the header or the repair of a dirty image cannot be written
   */
  void prepare() throws IOException {
    if (img.prepared) {
      return;
    }
    Qcow2Header h = img.header;
    if (h.has(Features.CORRUPT)) {
      throw img.refusal("the image is marked corrupt (incompatible feature bit 1); check -r all "
          + "repairs it and clears the mark");
    }
    if (h.has(Features.DIRTY) && !img.lazyDirty) {
      img.allocator.releasePool();
      new Qcow2Check(img).run(CheckMode.REPAIR_ALL);
    }
    if (img.bitmaps.markInUse(img.file) > 0) {
      img.bitmaps = Bitmaps.read(img.file, h, img.fileLength());
    }
    boolean lazy = (h.compatible & Features.LAZY_REFCOUNTS) != 0 && h.version >= 3
        && !h.has(Features.DIRTY);
    boolean dropBitmaps = h.bitmapsExtension != null && img.bitmaps.ignored() != null;
    if ((h.autoclear & ~Features.KNOWN_AUTOCLEAR) != 0 || dropBitmaps || lazy) {
      img.changeHeader(x -> {
        x.autoclear &= Features.KNOWN_AUTOCLEAR;
        if (dropBitmaps) {
          x.bitmapsExtension = null;
          x.autoclear &= ~Features.BITMAPS;
        }
        if (lazy) {
          x.incompatible |= Features.DIRTY;
        }
      });
      if (lazy) {
        img.lazyDirty = true;
        img.allocator.setLazy(true);
      }
    }
    img.prepared = true;
  }

  /** Flushes (applying the waiting frees) when the allocator says many wait. */
  void settleIfMany() throws IOException {
    if (img.allocator.manyPending()) {
      img.state.readLock().lock();
      try {
        flushMetadata();
      } finally {
        img.state.readLock().unlock();
      }
    }
  }

  /** Makes every write durable, then applies the frees that waited for it. */
  void flushMetadata() throws IOException {
    List<long[]> frees = img.allocator.takePending();
    img.file.flush();
    if (img.externalData) {
      img.data.flush();
    }
    img.allocator.applyFrees(frees);
  }

  /** At close: frees applied, the pool returned, lazy refcounts written and the dirty bit cleared. */
  void closeMetadata() throws IOException {
    flushMetadata();
    img.allocator.releasePool();
    img.refcounts.writeDirty();
    img.file.flush();
    if (img.lazyDirty) {
      img.changeHeader(x -> x.incompatible &= ~Features.DIRTY);
      img.lazyDirty = false;
    }
  }
}
