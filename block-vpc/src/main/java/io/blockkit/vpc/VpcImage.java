package io.blockkit.vpc;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CheckMode;
import io.blockkit.api.CheckReport;
import io.blockkit.api.Extent;
import io.blockkit.api.ImageInfo;
import io.blockkit.api.OpenRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.StampedLock;

/**
 * An open VHD. A fixed disk passes every request to its file at the same offset (the footer
 * after the data is never touched); dynamic and differencing disks go through {@link Blocks}.
 */
final class VpcImage extends AbstractBlockDevice {
  final VpcFile layout;
  private final BlockDevice file;
  private final Blocks blocks;
  private final BackingLink link;
  private final Set<Capability> capabilities;
  /** Shared by every request; exclusive while a check runs (a repair moves blocks). */
  private final StampedLock layoutLock = new StampedLock();

  VpcImage(VpcDriver driver, OpenRequest request, VpcFile layout, BlockDevice backing,
      BackingLink link) throws IOException {
    super(driver, request.location(), request.readOnly(), request.child(), backing);
    this.layout = layout;
    this.file = request.child();
    this.link = link;
    this.blocks = layout.isFixed() ? null : new Blocks(request.location(), file, layout,
        this::readBacking);
    Set<Capability> caps = EnumSet.of(Capability.BLOCK_STATUS, Capability.CHECK);
    if (!request.readOnly()) {
      caps.addAll(EnumSet.of(Capability.WRITE, Capability.WRITE_ZEROES, Capability.DISCARD,
          Capability.REPAIR));
      if (file.capabilities().contains(Capability.FLUSH)) {
        caps.add(Capability.FLUSH);
      }
    }
    this.capabilities = Set.copyOf(caps);
  }

  @Override
  public long size() {
    return layout.size;
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  BlockDevice file() {
    return file;
  }

  Blocks blocks() {
    return blocks;
  }

  /** Runs {@code op} with the layout held still (shared with other requests). */
  private <T> T shared(IoCall<T> op) throws IOException {
    long stamp = layoutLock.readLock();
    try {
      return op.call();
    } finally {
      layoutLock.unlockRead(stamp);
    }
  }

  @FunctionalInterface
  private interface IoCall<T> {
    T call() throws IOException;
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    if (blocks == null) {
      file.read(offset, dst);
      return;
    }
    shared(() -> {
      blocks.read(offset, dst);
      return null;
    });
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    if (blocks == null) {
      file.write(offset, src);
      return;
    }
    shared(() -> {
      blocks.write(offset, src, src.remaining());
      return null;
    });
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    zero(offset, length, false);
  }

  /** Discard reads zeros afterwards except in a differencing image, where it keeps its bytes. */
  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    zero(offset, length, true);
  }

  private void zero(long offset, long length, boolean discard) throws IOException {
    if (blocks == null) {
      // Zeros in place: cheap on files (a punched hole), and they never reach the footer.
      file.writeZeroes(offset, length);
      return;
    }
    shared(() -> {
      blocks.zero(offset, length, discard);
      return null;
    });
  }

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    if (blocks == null) {
      Extent e = file.blockStatus(offset, Math.min(length, layout.size - offset));
      return new Extent(offset, e.length(), e.data(), e.zero(), true, offset, file);
    }
    return shared(() -> blocks.status(offset, length));
  }

  @Override
  protected void doFlush() throws IOException {
    if (blocks == null) {
      file.flush();
      return;
    }
    shared(() -> {
      blocks.flush();
      return null;
    });
  }

  /** Bitmaps and BAT entries not flushed yet are written, after the data they point to. */
  @Override
  protected void doClose() throws IOException {
    if (blocks != null && !isReadOnly() && blocks.hasChanges()) {
      blocks.flush();
    }
  }

  @Override
  protected CheckReport doCheck(CheckMode mode) throws IOException {
    long stamp = layoutLock.writeLock();
    try {
      return new VpcCheck(this).run(mode);
    } finally {
      layoutLock.unlockWrite(stamp);
    }
  }

  @Override
  protected BackingLink backingLink() {
    return link;
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    return new ImageInfo(location(), driver().name(), layout.size, allocatedSize(),
        layout.blockSize, false, formatSpecific(), link);
  }

  @Override
  protected Map<String, Object> formatSpecific() throws IOException {
    Footer f = layout.footer;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", Footer.typeName(layout.type));
    m.put("creator-application", f.creatorApp().replace('\0', ' ').trim());
    m.put("creator-version", (f.creatorVersion() >>> 16) + "." + (f.creatorVersion() & 0xffff));
    m.put("creator-os", f.creatorOs().replace('\0', ' ').trim());
    m.put("timestamp", Instant.ofEpochSecond(Footer.VHD_EPOCH + f.timestamp()).toString());
    m.put("unique-id", f.uniqueId().toString());
    m.put("current-size", f.currentSize());
    Geometry g = f.geometry();
    Map<String, Object> chs = new LinkedHashMap<>();
    chs.put("cylinders", g.cylinders());
    chs.put("heads", g.heads());
    chs.put("sectors", g.sectorsPerTrack());
    m.put("geometry", chs);
    m.put("size-from", layout.sizeSource());
    if (blocks != null) {
      m.put("block-size", layout.blockSize);
      m.put("bat-offset", layout.tableOffset);
      m.put("bat-entries", (long) layout.entries);
      long allocated = 0;
      for (int i = 0; i < blocks.bat.size(); i++) {
        if (Bat.isAllocated(blocks.bat.get(i))) {
          allocated++;
        }
      }
      m.put("blocks-allocated", allocated);
    }
    if (layout.isDifferencing()) {
      DynamicHeader h = layout.header;
      m.put("parent-unique-id", h.parentId().toString());
      m.put("parent-timestamp", Instant.ofEpochSecond(Footer.VHD_EPOCH + h.parentTimestamp())
          .toString());
      m.put("parent-name", h.parentName());
      List<String> names = layout.parentNames.stream()
          .map(p -> p.source() + ": " + p.name()).toList();
      m.put("parent-locators", names);
    }
    return m;
  }
}
