package io.blockkit.vdi;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.vdi.VdiJournal.Changes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The write path of one open image: writes in place, new blocks (with copy-on-write from the
 * parent in differencing images), zeroing and discarding, and the release of whole blocks that
 * become ZERO. Every request holds the image's change lock shared; allocation of one virtual block
 * is serialised by a striped lock; metadata goes through the {@link VdiJournal}.
 */
final class VdiWriter {
  private static final int STRIPES = 64;
  private static final int COPY_CHUNK = 1 << 20;

  private final VdiImage image;
  private final VdiJournal journal;
  /** Serialises allocation of one virtual block (striped by block index). */
  private final ReentrantLock[] allocationLocks = new ReentrantLock[STRIPES];

  VdiWriter(VdiImage image, VdiJournal journal) {
    this.image = image;
    this.journal = journal;
    for (int i = 0; i < STRIPES; i++) {
      allocationLocks[i] = new ReentrantLock();
    }
  }

  void write(long offset, ByteBuffer src) throws IOException {
    long stamp = image.changeLock.readLock();
    Changes changes = new Changes();
    try {
      long blockSize = image.blockSize();
      long pos = offset;
      long end = offset + src.remaining();
      while (pos < end) {
        long block = pos >>> image.shift();
        long inBlock = pos & (blockSize - 1);
        int n = (int) Math.min(blockSize - inBlock, end - pos);
        ByteBuffer part = src.slice().limit(n);
        writeBlock(block, inBlock, part, changes);
        src.position(src.position() + n);
        pos += n;
      }
    } finally {
      commitAndUnlock(changes, stamp);
    }
  }

  /** Commits a request's metadata and releases its share of the change lock, even if that fails. */
  private void commitAndUnlock(Changes changes, long stamp) throws IOException {
    try {
      journal.commit(changes);
    } finally {
      image.changeLock.unlockRead(stamp);
    }
  }

  private void writeBlock(long block, long inBlock, ByteBuffer data, Changes changes)
      throws IOException {
    int entry = image.map.get(block);
    if (BlockMap.isAllocated(entry)) {
      writeInPlace(block, entry, inBlock, data, changes);
      return;
    }
    boolean inherits = entry == BlockMap.FREE && image.header.isDifferencing();
    if (!inherits && isAllZero(data)) {
      // The block already reads as zeros: nothing to store, nothing to allocate.
      return;
    }
    ReentrantLock lock = lockFor(block);
    lock.lock();
    try {
      entry = image.map.get(block);
      if (BlockMap.isAllocated(entry)) {
        // A concurrent request allocated the block while we waited.
        writeInPlace(block, entry, inBlock, data, changes);
        return;
      }
      inherits = entry == BlockMap.FREE && image.header.isDifferencing();
      if (inherits && inBlock == 0 && data.remaining() == blockLength(block) && isAllZero(data)) {
        // gh-850: zeros over a whole block of a differencing image are a ZERO entry, never FREE.
        markZero(block, changes);
        return;
      }
      allocate(block, inBlock, data, data.remaining(), inherits, changes);
    } finally {
      lock.unlock();
    }
  }

  /** Virtual bytes of {@code block} inside the disk (the last block may be cut by its end). */
  private long blockLength(long block) {
    long start = block << image.shift();
    return Math.min(image.blockSize(), image.size() - start);
  }

  private ReentrantLock lockFor(long block) {
    return allocationLocks[(int) (block % STRIPES)];
  }

  private void markZero(long block, Changes changes) throws IOException {
    journal.markModified(changes);
    image.map.set(block, BlockMap.ZERO);
    changes.entry(block);
  }

  /**
   * Gives {@code block} a new physical block holding {@code length} bytes at {@code inBlock}
   * ({@code data}, or zeros when it is null) and around them what the block read before: the
   * parent's bytes when it {@code inherits} them (copy-on-write), zeros otherwise. Caller holds
   * the block's allocation lock.
   */
  private void allocate(long block, long inBlock, ByteBuffer data, long length, boolean inherits,
      Changes changes) throws IOException {
    VdiHeader h = image.header;
    long phys = allocatePhysical(block);
    long total = h.totalBlockSize();
    long start = h.dataOffset + phys * total;
    journal.markModified(changes);
    boolean written = false;
    try {
      long head = h.blockExtra + inBlock;
      if (h.blockExtra > 0) {
        image.file().writeZeroes(start, h.blockExtra);
      }
      long virtualStart = block << image.shift();
      fill(start + h.blockExtra, virtualStart, inBlock, inherits);
      if (data != null) {
        image.file().write(start + head, data);
      } else {
        image.file().writeZeroes(start + head, length);
      }
      long after = inBlock + length;
      fill(start + h.blockExtra + after, virtualStart + after, h.blockSize - after, inherits);
      written = true;
    } finally {
      if (!written) {
        // Hand the block back unless a later allocation took the next one meanwhile (then it
        // stays a leak): nothing refers to it, and the next allocation rewrites all of it.
        journal.nextFree.compareAndSet(phys + 1, phys);
      }
    }
    image.fileGrewTo(start + total);
    // Publish only after the data is in place: readers see zeros or the whole block. The entry
    // is marked unwritten before anyone can see it, so that a flush after another request's
    // write into this block writes the entry even if this request has not committed yet.
    journal.publish(block, (int) phys);
    changes.entry(block);
    changes.header = true;
  }

  /**
   * Writes {@code length} bytes of a new block at file offset {@code host}, for virtual bytes from
   * {@code virtual}: the parent's where the block inherits them (zeros past the disk's end), else
   * zeros, which the file writes cheaply (a hole or a grown file).
   */
  private void fill(long host, long virtual, long length, boolean inherits) throws IOException {
    if (length <= 0) {
      return;
    }
    long inDisk = Math.max(0, Math.min(length, image.size() - virtual));
    if (!inherits || !image.backing().isPresent()) {
      inDisk = 0;
    }
    ByteBuffer buf = inDisk > 0 ? ByteBuffer.allocate((int) Math.min(COPY_CHUNK, inDisk)) : null;
    for (long done = 0; done < inDisk; done += buf.capacity()) {
      int n = (int) Math.min(buf.capacity(), inDisk - done);
      buf.clear().limit(n);
      image.readParent(virtual + done, buf);
      buf.flip();
      image.file().write(host + done, buf);
    }
    if (inDisk < length) {
      image.file().writeZeroes(host + inDisk, length - inDisk);
    }
  }

  private void writeInPlace(long block, int entry, long inBlock, ByteBuffer data,
      Changes changes) throws IOException {
    long host = image.dataOffset(writablePhysical(block, entry)) + inBlock;
    journal.markModified(changes);
    int n = data.remaining();
    image.file().write(host, data);
    image.fileGrewTo(host + n);
  }

  private long allocatePhysical(long block) throws IOException {
    long blocks = image.header.blocks;
    long phys = journal.nextFree.getAndIncrement();
    if (phys >= blocks) {
      journal.nextFree.decrementAndGet();
      throw new BlockException("Cannot allocate block " + block + " in image '" + image.location()
          + "': every physical block index below blocks_in_image (" + blocks
          + ") is taken, some of them by leaked space; run a check with repair first");
    }
    return phys;
  }

  /**
   * The physical block of an allocated entry that is to be written, or a CorruptImageException
   * when the entry is out of range: writing there would put data at a wild offset of the file.
   */
  private long writablePhysical(long block, int entry) throws CorruptImageException {
    long phys = Integer.toUnsignedLong(entry);
    long blocks = image.header.blocks;
    if (phys >= blocks) {
      throw new CorruptImageException(image.location(), "block map entry " + block,
          image.mapEntryOffset(block), Long.toString(phys), "a physical block below "
              + "blocks_in_image (" + blocks + "); run a check with repair of all errors first");
    }
    return phys;
  }

  static boolean isAllZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Makes the range read as zeros ({@code discard} false) or releases it ({@code discard} true).
   * Whole blocks become ZERO entries without touching data; partial ranges of allocated blocks
   * are overwritten with zeros in place. Allocated blocks that become ZERO leave a hole that is
   * filled by moving the last physical block into it, as VirtualBox's discard does, so the
   * physical blocks stay dense and {@code blocks_allocated} stays equal to the number of
   * allocated entries. In a differencing image, zeroing part of a block the parent supplies
   * copies the block on write; discarding it leaves it to the parent (its old data).
   */
  void zeroRange(long offset, long length, boolean discard) throws IOException {
    List<Long> release = new ArrayList<>();
    long stamp = image.changeLock.readLock();
    Changes changes = new Changes();
    try {
      VdiHeader h = image.header;
      long blockSize = image.blockSize();
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        long block = pos >>> image.shift();
        long blockStart = block << image.shift();
        long blockEnd = Math.min(blockStart + blockSize, image.size());
        long n = Math.min(blockEnd, end) - pos;
        boolean whole = pos == blockStart && pos + n == blockEnd;
        int entry = image.map.get(block);
        if (whole && h.type == VdiHeader.TYPE_FIXED && BlockMap.isAllocated(entry)) {
          // A fixed image keeps every block it preallocated: zero the data, not the entry.
          zeroInPlace(block, entry, 0, n, changes);
        } else if (whole) {
          if (BlockMap.isAllocated(entry)) {
            release.add(block);
          } else if (entry == BlockMap.FREE) {
            ReentrantLock lock = lockFor(block);
            lock.lock();
            try {
              int now = image.map.get(block);
              if (now == BlockMap.FREE) {
                markZero(block, changes);
              } else if (BlockMap.isAllocated(now)) {
                release.add(block);
              }
            } finally {
              lock.unlock();
            }
          }
        } else if (BlockMap.isAllocated(entry)) {
          zeroInPlace(block, entry, pos - blockStart, n, changes);
        } else if (entry == BlockMap.FREE && h.isDifferencing() && !discard) {
          zeroInherited(block, pos - blockStart, n, changes);
        }
        pos += n;
      }
    } finally {
      commitAndUnlock(changes, stamp);
    }
    if (!release.isEmpty()) {
      image.withoutWriters(() -> {
        releaseBlocks(release);
        return null;
      });
    }
  }

  private void zeroInPlace(long block, int entry, long inBlock, long n, Changes changes)
      throws IOException {
    long host = image.dataOffset(writablePhysical(block, entry)) + inBlock;
    journal.markModified(changes);
    image.file().writeZeroes(host, n);
    image.fileGrewTo(host + n);
  }

  /** Zeros over part of a block the parent supplies: copy-on-write with zeros as the data. */
  private void zeroInherited(long block, long inBlock, long n, Changes changes)
      throws IOException {
    ReentrantLock lock = lockFor(block);
    lock.lock();
    try {
      int entry = image.map.get(block);
      if (BlockMap.isAllocated(entry)) {
        zeroInPlace(block, entry, inBlock, n, changes);
      } else if (entry == BlockMap.FREE) {
        allocate(block, inBlock, null, n, true, changes);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Turns allocated whole blocks into ZERO entries (with readers held off) and packs, readers
   * going on while blocks are copied. Caller holds the change lock exclusively.
   */
  private void releaseBlocks(List<Long> blocks) throws IOException {
    long[] range = image.withoutReaders(false, () -> {
      long first = Long.MAX_VALUE;
      long last = -1;
      for (long block : blocks) {
        if (BlockMap.isAllocated(image.map.get(block))) {
          image.map.set(block, BlockMap.ZERO);
          first = Math.min(first, block);
          last = Math.max(last, block);
        }
      }
      return new long[] {first, last};
    });
    if (range[1] >= 0) {
      image.compactor().pack(Changes.entries(range[0], range[1]), false);
    }
  }
}
