package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Creates images from create options: dynamic, fixed, and differencing ones over a VDI parent
 * ({@code backing_file}), which take the parent's size unless {@code size} is given, its UUID as
 * their parent UUID, its modification UUID and its LCHS geometry, as VirtualBox's differencing
 * create does. The layout is in the package documentation; {@link #layout} is shared with
 * {@link VdiDriver#measure}.
 */
final class VdiCreator {
  static final long DEFAULT_BLOCK_SIZE = 1L << 20;
  static final long MIN_CREATE_BLOCK_SIZE = 512L << 10;
  static final long MAX_CREATE_BLOCK_SIZE = 8L << 20;
  static final int CREATE_MAP_OFFSET = 512;
  static final int CREATE_DATA_ALIGNMENT = 4096;
  static final String PRE_HEADER_TEXT = "<<< Oracle VirtualBox Disk Image >>>\n";

  private VdiCreator() {}

  /**
   * Where a new image's parts go.
   *
   * @param size the virtual size (a multiple of 512)
   * @param blockSize bytes per block
   * @param blocks blocks in the map
   * @param dataOffset where the first block goes, past the map
   * @param fixed every block preallocated
   */
  record Layout(long size, long blockSize, long blocks, long dataOffset, boolean fixed) {
    /** Bytes the file needs with {@code allocated} blocks. */
    long fileSize(long allocated) {
      return dataOffset + allocated * blockSize;
    }
  }

  /**
   * The layout the options ask for, {@code size} given or taken from a parent; checks every
   * option.
   */
  static Layout layout(Options o, Long parentSize) throws InvalidOptionException {
    long blockSize = o.size("block_size");
    if (Long.bitCount(blockSize) != 1 || blockSize < MIN_CREATE_BLOCK_SIZE
        || blockSize > MAX_CREATE_BLOCK_SIZE) {
      throw new InvalidOptionException("Option 'block_size': " + blockSize + " is not allowed; "
          + "expected a power of two from 524288 (512K) to 8388608 (8M), as VirtualBox accepts");
    }
    if (!o.has("size") && parentSize == null) {
      throw new InvalidOptionException("Option 'size' is required to create a vdi image");
    }
    long requested = o.has("size") ? o.size("size") : parentSize;
    if (requested <= 0) {
      throw new InvalidOptionException("Option 'size': " + requested
          + " is not allowed; a vdi image needs at least one byte (VirtualBox cannot open "
          + "one of 0 bytes, though blockkit and qemu-img can)");
    }
    long max = Math.min(VdiHeader.MAX_DISK_SIZE, VdiHeader.MAX_BLOCKS * blockSize);
    if (requested > max) {
      throw new InvalidOptionException("Option 'size': " + requested + " bytes is too large; the "
          + "largest vdi image with " + blockSize + "-byte blocks is " + max + " bytes");
    }
    long size = (requested + VdiHeader.SECTOR_SIZE - 1) & -(long) VdiHeader.SECTOR_SIZE;
    String prealloc = o.string("preallocation");
    if (o.bool("static")) {
      if (o.isSet("preallocation") && prealloc.equals("off")) {
        throw new InvalidOptionException("Options 'static=on' and 'preallocation=off' "
            + "contradict each other");
      }
      if (prealloc.equals("off")) {
        prealloc = "metadata";
      }
    }
    long blocks = (size + blockSize - 1) / blockSize;
    long dataOffset = (CREATE_MAP_OFFSET + 4 * blocks + CREATE_DATA_ALIGNMENT - 1)
        & -(long) CREATE_DATA_ALIGNMENT;
    return new Layout(size, blockSize, blocks, dataOffset, !prealloc.equals("off"));
  }

  static void create(CreateRequest request) throws IOException {
    BlockDevice file = request.child();
    if (file == null) {
      throw new InvalidOptionException("The vdi format needs a child node (a file) to create in");
    }
    Options o = request.options();
    byte[] comment = o.string("comment").getBytes(StandardCharsets.UTF_8);
    if (comment.length >= VdiHeader.COMMENT_SIZE || o.string("comment").indexOf('\0') >= 0) {
      throw new InvalidOptionException("Option 'comment': " + comment.length + " bytes is too "
          + "long; at most 255 bytes of UTF-8 without NUL characters fit in the header");
    }
    UUID image = o.uuid("uuid").orElseGet(UUID::randomUUID);
    if (VdiParent.isNull(image)) {
      throw new InvalidOptionException("Option 'uuid': the null UUID is not allowed (VirtualBox "
          + "rejects images whose UUID is null)");
    }
    Parent parent = o.has("backing_file") ? parent(request) : null;
    Layout l = layout(o, parent == null ? null : parent.size);
    if (parent != null && l.fixed()) {
      throw new InvalidOptionException("Options 'backing_file' and 'static'/'preallocation' "
          + "contradict each other: a differencing image is dynamic (VirtualBox never opens a "
          + "fixed image above its base)");
    }
    ByteBuffer h = ByteBuffer.allocate(CREATE_MAP_OFFSET).order(ByteOrder.LITTLE_ENDIAN);
    h.put(0, PRE_HEADER_TEXT.getBytes(StandardCharsets.US_ASCII));
    h.putInt(VdiHeader.SIGNATURE_OFFSET, (int) VdiHeader.SIGNATURE);
    h.putInt(VdiHeader.VERSION_OFFSET, VdiHeader.VERSION_1_1);
    h.putInt(72, VdiHeader.V1_PLUS_HEADER_SIZE);
    h.putInt(76, l.fixed() ? VdiHeader.TYPE_FIXED
        : parent != null ? VdiHeader.TYPE_DIFF : VdiHeader.TYPE_NORMAL);
    h.putInt(80, 0);
    h.put(84, comment);
    h.putInt(340, CREATE_MAP_OFFSET);
    h.putInt(344, (int) l.dataOffset());
    h.putInt(360, VdiHeader.SECTOR_SIZE);
    h.putLong(368, l.size());
    h.putInt(376, (int) l.blockSize());
    h.putInt(380, 0);
    h.putInt(384, (int) l.blocks());
    h.putInt(388, l.fixed() ? (int) l.blocks() : 0);
    VdiHeader.putUuid(h, 392, image);
    VdiHeader.putUuid(h, 408, UUID.randomUUID());
    h.putInt(468, VdiHeader.SECTOR_SIZE);
    if (parent != null) {
      VdiHeader.putUuid(h, 424, parent.uuid);
      VdiHeader.putUuid(h, 440, parent.modification);
      if (parent.lchs != null) {
        for (int i = 0; i < 3; i++) {
          h.putInt(456 + 4 * i, parent.lchs[i]);
        }
      }
    }
    file.write(0, h);
    writeMap(file, l);
    if (l.fixed()) {
      preallocate(file, l, o.string("preallocation").equals("full"));
    }
  }

  /** The map, then zero padding up to the data area, written in bounded chunks. */
  private static void writeMap(BlockDevice file, Layout l) throws IOException {
    int chunkEntries = 1 << 18;
    for (long first = 0; first < l.blocks(); first += chunkEntries) {
      int n = (int) Math.min(chunkEntries, l.blocks() - first);
      ByteBuffer m = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        m.putInt(l.fixed() ? (int) (first + i) : BlockMap.FREE);
      }
      m.flip();
      file.write(CREATE_MAP_OFFSET + 4 * first, m);
    }
    long mapEnd = CREATE_MAP_OFFSET + 4 * l.blocks();
    if (l.dataOffset() > mapEnd) {
      file.write(mapEnd, ByteBuffer.allocate((int) (l.dataOffset() - mapEnd)));
    }
  }

  private static void preallocate(BlockDevice file, Layout l, boolean full) throws IOException {
    long end = l.fileSize(l.blocks());
    if (full) {
      ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(l.blockSize(), 1 << 20));
      for (long pos = l.dataOffset(); pos < end; pos += zeros.capacity()) {
        zeros.clear();
        file.write(pos, zeros);
      }
    } else if (file.capabilities().contains(Capability.RESIZE)) {
      file.truncate(end);
    } else {
      file.writeZeroes(end - 1, 1);
    }
  }

  /** What a differencing image takes from its parent. */
  private record Parent(Long size, UUID uuid, UUID modification, int[] lchs) {}

  /** Opens the parent named by {@code backing_file} (which proves it exists) and reads it. */
  private static Parent parent(CreateRequest request) throws IOException {
    Options o = request.options();
    String name = o.string("backing_file");
    String format = o.has("backing_fmt") ? o.string("backing_fmt") : VdiDriver.NAME;
    if (!format.equals(VdiDriver.NAME)) {
      throw new InvalidOptionException("Option 'backing_fmt': '" + format + "' is not allowed; "
          + "the parent of a VDI differencing image must be a VDI image (VirtualBox identifies "
          + "it by its UUID, which a " + format + " image does not have)");
    }
    try (BlockDevice backing = request.related().openBacking(name, VdiDriver.NAME)
        .orElseThrow(() -> new InvalidOptionException("the backing file was dropped"))) {
      if (!(backing instanceof VdiImage p)) {
        throw new InvalidOptionException("Option 'backing_file': '" + name + "' is a "
            + backing.driver().name() + " image; the parent of a VDI differencing image must be "
            + "a VDI image");
      }
      VdiHeader ph = p.header;
      return new Parent(p.size(), ph.uuidCreate, p.modificationUuid(), ph.lchs());
    }
  }
}
